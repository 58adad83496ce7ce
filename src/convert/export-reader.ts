import type { Readable } from 'node:stream'
import type { ReadAt } from '../image/read-at.js'
import { isZero } from '../image/zero.js'
import type { XapiConnection } from '../xapi/connection.js'
import { isRedirect, openTransfer, transferUrl, type TransferTarget } from '../xapi/raw-transfer.js'
import { transferTarget } from '../xapi/transfer-target.js'

const BLOCK = 64 * 1024

/**
 * The first bytes of a VDI, read once through GET /export_raw_vdi and kept sparsely
 * (all-zero 64 KiB blocks take no memory). xapi's export has no Range support
 * (export_raw_vdi.ml streams the whole disk through vhd-tool from byte 0), so the
 * only way to read "just the ranges needed" is to read up to the furthest one and
 * then cut the connection. `readAt` is synchronous, as the project's pure readers
 * need: a read past what has arrived returns zeros and is recorded as a miss; the
 * caller then awaits `ensure(misses)` and runs its analysis again (see analyse()).
 */
export class ExportPrefix {
  private readonly blocks = new Map<number, Buffer>()
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Bytes of the disk received so far, from 0. */
  have = 0
  /** The furthest byte a read asked for beyond `have` since the last reset. */
  missedUpTo = 0
  private ended = false
  private failure: Error | undefined
  private waiter: (() => void) | undefined

  private constructor(
    private readonly stream: Readable,
    readonly size: number,
    private readonly onClose: () => void,
  ) {
    stream.on('data', (chunk: Buffer) => this.take(chunk))
    stream.on('end', () => this.finish())
    stream.on('error', (e: Error) => this.finish(e))
    stream.pause()
  }

  /** GET /export_raw_vdi?format=raw for `vdi`, following XAPI's redirect to the host whose SR holds it. */
  static async open(x: XapiConnection, vdi: string, size: number, signal?: AbortSignal): Promise<ExportPrefix> {
    let target: TransferTarget | undefined
    for (let hop = 0; hop < 2; hop++) {
      const url = transferUrl(x, target, '/export_raw_vdi', { session_id: x.sessionId, vdi, format: 'raw' })
      const t = await openTransfer(x, target, 'GET', url, 'GET /export_raw_vdi', signal)
      if (t.status === 200) return new ExportPrefix(t.stream, size, () => t.stream.destroy())
      t.stream.destroy()
      if (!isRedirect(t.status) || hop > 0) throw new Error(`GET /export_raw_vdi: HTTP ${t.status}`)
      target = (await transferTarget(x, vdi, signal)) ?? undefined
      if (target === undefined) throw new Error(`GET /export_raw_vdi: HTTP ${t.status}, and XAPI named no host to read the VDI from`)
    }
    throw new Error('GET /export_raw_vdi: redirected twice')
  }

  private take(chunk: Buffer): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    // Whole blocks go to the map; a zero block is remembered by its absence.
    while (this.pendingBytes >= BLOCK || (this.ended && this.pendingBytes > 0)) this.flushBlock()
    this.waiter?.()
  }

  private flushBlock(): void {
    const all = Buffer.concat(this.pending)
    const n = Math.min(BLOCK, all.length)
    const block = all.subarray(0, n)
    if (!isZero(block)) this.blocks.set(this.have / BLOCK, Buffer.from(block))
    this.have += n
    this.pending = n < all.length ? [all.subarray(n)] : []
    this.pendingBytes = all.length - n
  }

  private finish(e?: Error): void {
    this.ended = true
    this.failure ??= e
    while (this.pendingBytes > 0) this.flushBlock()
    this.waiter?.()
  }

  /** The bytes at [offset, offset+length): zeros for a hole, past the end, or not yet received (a miss). */
  readonly readAt: ReadAt = (offset, length) => {
    const out = Buffer.alloc(length)
    const end = Math.min(offset + length, this.size)
    if (end > this.have) this.missedUpTo = Math.max(this.missedUpTo, end)
    for (let pos = offset; pos < Math.min(end, this.have); ) {
      const index = Math.floor(pos / BLOCK)
      const within = pos - index * BLOCK
      const n = Math.min(BLOCK - within, Math.min(end, this.have) - pos)
      this.blocks.get(index)?.copy(out, pos - offset, within, within + n)
      pos += n
    }
    return out
  }

  /** Reads on until `upTo` bytes (capped at the disk size) have arrived. */
  async ensure(upTo: number): Promise<void> {
    const want = Math.min(upTo, this.size)
    while (this.have < want) {
      if (this.failure) throw new Error(`GET /export_raw_vdi failed after ${this.have} bytes: ${this.failure.message}`)
      if (this.ended) throw new Error(`GET /export_raw_vdi ended after ${this.have} bytes of a ${this.size}-byte VDI`)
      await new Promise<void>((resolve) => {
        this.waiter = resolve
        this.stream.resume()
      })
      this.waiter = undefined
      if (this.have >= want) this.stream.pause()
    }
  }

  /** Cuts the connection: XAPI ends the export's task (VDI_IO_ERROR on the client side is expected). */
  close(): void {
    this.onClose()
  }
}

export interface Analysed<T> {
  result: T
  /** Bytes of the VDI that went over the wire. */
  bytesRead: number
  /** Analysis passes: each needed data further into the disk than the one before. */
  passes: number
}

/**
 * Runs a pure analysis over the VDI until it reads nothing that has not arrived. Each
 * pass that misses reads on past its furthest miss (at least 1 MiB further, and at
 * least doubling, so a deep chain of reads costs few passes), then runs again.
 */
export async function analyse<T>(prefix: ExportPrefix, run: (read: ReadAt, size: number) => T, maxBytes: number): Promise<Analysed<T>> {
  await prefix.ensure(Math.min(1024 * 1024, maxBytes))
  for (let passes = 1; ; passes++) {
    prefix.missedUpTo = 0
    const result = run(prefix.readAt, prefix.size)
    if (prefix.missedUpTo === 0) return { result, bytesRead: prefix.have, passes }
    const next = Math.max(prefix.missedUpTo + 1024 * 1024, prefix.have * 2)
    if (prefix.have >= maxBytes) {
      throw new Error(`the analysis needs bytes up to ${prefix.missedUpTo} of the VDI, past the limit of ${maxBytes} read (--max-read)`)
    }
    await prefix.ensure(Math.min(next, maxBytes))
  }
}
