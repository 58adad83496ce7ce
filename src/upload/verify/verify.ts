import { createHash, type Hash } from 'node:crypto'
import type { XapiConnection } from '../../xapi/connection.js'
import * as task from '../../xapi/task.js'
import { isZero } from '../../image/zero.js'
import { UserError } from '../../errors.js'
import type { Segment } from '../resume/segments.js'
import type { DataMap } from '../find/data-map.js'
import { regionHashes } from '../find/region-hashes.js'
import { isRedirect, loadGot, openTransfer, transferError, transferUrl, type TransferTarget } from '../../xapi/raw-transfer.js'
import { transferTarget } from '../../xapi/transfer-target.js'

export interface VerifyOptions {
  vdi: string
  /** The map the upload used: its region hashes are what the VDI must match. */
  map: DataMap
  segments: readonly Segment[]
  signal?: AbortSignal | undefined
  /** Where the upload was sent (UploadResult.target: null for the session's host); asked of XAPI when undefined. */
  target?: TransferTarget | null | undefined
  /** After each chunk read: how far the check is (the CLI draws --verify's bar from it). */
  onProgress?: ((p: VerifyProgress) => void) | undefined
}

export interface VerifyProgress {
  /** Segments compared so far, of `segments`. */
  checked: number
  segments: number
  /** Bytes read back so far, of `total` (the image's size: reading stops there). */
  read: number
  total: number
}

export interface Mismatch {
  segment: number
  start: number
  end: number
  reason: string
}

export interface VerifyResult {
  segments: number
  bytesRead: number
}

/**
 * Reads the VDI back through GET /export_raw_vdi and checks it segment by segment
 * against the image's map: every region must hash as it did when the map was taken,
 * and every hole must read as zeros. A mismatch names the segment, and in it the first
 * region that differs or the first stray byte, so the damaged place is known exactly.
 * Streams with a bounded buffer, whatever the size; stops at the end of the image.
 */
export async function verifyVdi(x: XapiConnection, o: VerifyOptions): Promise<VerifyResult> {
  const { RequestError } = await loadGot()
  // The hashes the upload may still be computing (niced, region-hashes.ts): an interrupt must not wait for them.
  const hashes = await untilAborted(regionHashes(o.map), o.signal)
  // Exports are redirected like imports, to a host where the SR is plugged.
  let target = (o.target !== undefined ? o.target : await transferTarget(x, o.vdi, o.signal)) ?? undefined
  const taskRef = await task.create(x, 'xcp-provision: verify VDI', o.vdi)
  const check = new SegmentChecker(o.segments, hashes, o.map.size)
  let bytesRead = 0
  let lastUrl: URL | undefined
  try {
    for (let hop = 0; ; hop++) {
      const url = transferUrl(x, target, '/export_raw_vdi', { task_id: taskRef, vdi: o.vdi, format: 'raw' })
      lastUrl = url
      // Never got's own redirect following: a Location is followed only to a host of the pool (transfer-target.ts).
      const { stream, status } = await openTransfer(x, target, 'GET', url, 'GET /export_raw_vdi', o.signal)
      if (status !== 200) {
        stream.destroy()
        if (isRedirect(status) && hop === 0) {
          target = (await transferTarget(x, o.vdi, o.signal)) ?? undefined
          if (target) continue
        }
        throw new Error(`GET /export_raw_vdi: HTTP ${status}`)
      }
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytesRead += chunk.length
        check.push(chunk)
        o.onProgress?.({ checked: check.checked, segments: o.segments.length, read: Math.min(bytesRead, o.map.size), total: o.map.size })
        if (check.done) {
          // Past the image the VDI holds only what the upload never touched: stop reading.
          stream.destroy()
          break
        }
      }
      break
    }
  } catch (e) {
    // got's messages hold the URL, and the URL holds the session.
    if (e instanceof RequestError) throw transferError(e, lastUrl ?? new URL(x.url), 'GET /export_raw_vdi', x.timeouts)
    throw e
  } finally {
    await task.destroy(x, taskRef).catch(() => undefined)
  }
  if (!check.done) throw new Error(`GET /export_raw_vdi ended after ${bytesRead} bytes; the image has ${o.map.size}`)
  if (check.mismatches.length) {
    const list = check.mismatches.map((m) => `segment ${m.segment} of ${o.segments.length} (bytes ${m.start}-${m.end}): ${m.reason}`)
    throw new UserError({
      code: 'verify-mismatch',
      what: `The VDI does not hold the image: ${check.mismatches.length} of ${o.segments.length} segments differ`,
      why: list.slice(0, 5).join('; ') + (list.length > 5 ? `; and ${list.length - 5} more` : ''),
      fix: 'run again to upload a fresh copy; if the same segments differ again, suspect the storage behind the SR',
    })
  }
  return { segments: o.segments.length, bytesRead }
}

/** Walks the exported bytes along the segments and their regions, one chunk at a time. */
class SegmentChecker {
  readonly mismatches: Mismatch[] = []
  private pos = 0
  private seg = 0
  private region = 0
  private hash: Hash = createHash('sha256')
  /** The first problem seen in the current segment. */
  private problem: string | undefined

  constructor(
    private readonly segments: readonly Segment[],
    private readonly regionHashes: Buffer,
    private readonly size: number,
  ) {
    this.closeFinished()
  }

  /** Segments whose every byte has been compared. */
  get checked(): number {
    return this.seg
  }

  get done(): boolean {
    return this.pos >= this.size && this.seg >= this.segments.length
  }

  push(buf: Buffer): void {
    for (let i = 0; i < buf.length && !this.done; ) {
      const s = this.segments[this.seg]!
      const r = s.regions[this.region]
      const inRegion = r !== undefined && this.pos >= r.offset
      const until = inRegion ? r.offset + r.length : (r?.offset ?? s.end)
      const piece = buf.subarray(i, i + Math.min(until - this.pos, buf.length - i))
      if (inRegion) this.hash.update(piece)
      else if (!this.problem && !isZero(piece)) this.problem = `byte ${this.pos + piece.findIndex((b) => b !== 0)} is not zero where the image has a hole`
      this.pos += piece.length
      i += piece.length
      if (inRegion && this.pos === until) this.closeRegion(s, r)
      this.closeFinished()
    }
  }

  private closeRegion(s: Segment, r: { offset: number; length: number }): void {
    const at = (s.firstRegion + this.region) * 32
    if (!this.problem && !this.hash.digest().equals(this.regionHashes.subarray(at, at + 32))) this.problem = `the data at bytes ${r.offset}-${r.offset + r.length} differs`
    this.hash = createHash('sha256')
    this.region++
  }

  private closeFinished(): void {
    for (let s = this.segments[this.seg]; s && this.pos >= s.end; s = this.segments[this.seg]) {
      if (this.problem) this.mismatches.push({ segment: this.seg + 1, start: s.start, end: s.end, reason: this.problem })
      this.seg++
      this.region = 0
      this.problem = undefined
    }
  }
}

/** `p`, or the signal's abort reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
