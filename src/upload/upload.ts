import { stat } from 'node:fs/promises'
import { openDiskReader, type DiskReader } from '../disk/disk-reader.js'
import { basename } from 'node:path'
import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import { settledMap, type DataMap } from './find/data-map.js'
import { putSegment, type UploadProgress } from './send/import-raw-vdi.js'
import { SEGMENT_BYTES, liveSegments, splitSegments, type Segment } from './resume/segments.js'
import { OFFSET_KEY, clearCheckpoint, parseCheckpoint, type Checkpoint } from './resume/checkpoint.js'
import { hashedBytes, regionHashes } from './find/region-hashes.js'
import { Checkpointer } from './resume/checkpointer.js'
import { defaultWorkers } from './find/map-pool.js'
import { planResume } from './resume/resume.js'
import { DEFAULT_RETRY, attemptsOf, withRetry } from './send/retry.js'
import type { RetryPolicy } from '../xapi/retry-policy.js'
import { UploadFailed } from './send/upload-failed.js'
import { transferTarget, type TransferTarget } from '../xapi/transfer-target.js'

/** Knobs for tests and benchmarks; the CLI uses the defaults. */
export interface UploadTuning {
  segmentBytes?: number
  retry?: Partial<RetryPolicy>
}

export type UploadEvent =
  | { type: 'upload-retry'; segment: number; segments: number; attempt: number; retries_left: number; error: string }
  | { type: 'upload-resume'; offset: number; image_size: number }
  | { type: 'upload-restart'; reason: string }

export interface UploadOptions {
  vdi: string
  image: string
  /** From scanDataRegions(); the run already needed it to check the image fits. */
  map: DataMap
  tuning?: UploadTuning
  signal?: AbortSignal | undefined
  onProgress?: (p: UploadProgress) => void
  onEvent?: (e: UploadEvent) => void
  /** Hears each checkpoint once it is recorded on the VDI (undefined: the VDI holds none any more). */
  onCheckpoint?: (c: Checkpoint | undefined) => void
  /**
   * --verify follows and compares the VDI with the regions' hashes: finish them even when
   * the upload needs them no more. The caller then stops them at its end (stopHashing),
   * should verify never come.
   */
  keepHashes?: boolean
}

export interface UploadResult {
  imageSize: number
  dataBytes: number
  /** Bytes of HTTP bodies this run put on the wire, failed attempts included. */
  bytesSent: number
  /** Bytes read from the image: the map, the hashing (when a checkpoint or a resume needed it) and the upload. */
  bytesRead: number
  regions: number
  method: DataMap['method']
  /** The segments this run sent. */
  segments: Segment[]
  /** The image offset the VDI already held when the run started (a resume), else 0. */
  resumedFrom: number
  retries: number
  /** Where XAPI had the upload sent: a pool host it redirected to, null for the session's own host, undefined if it never said. */
  target?: TransferTarget | null | undefined
}

/**
 * Uploads the image's data into the VDI segment by segment, one PUT and task each,
 * recording a checkpoint on the VDI after every segment and resuming from the one a
 * previous run left (resume.ts). A failed segment is retried by retry.ts's rules; when
 * they give up, UploadFailed says which segment and how far the VDI got.
 */
export async function uploadImage(x: XapiConnection, o: UploadOptions): Promise<UploadResult> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.tuning?.retry }
  // The map's file: the image or its spool, read as the virtual disk whatever its format (src/disk).
  const fh = await openDiskReader(o.map.path)
  try {
    const vdi = await VDI.get_record(x, o.vdi)
    // XAPI reports a write past the end as VDI_IO_ERROR, the same code as a cut
    // connection; checked here so that code can only mean a cut, which is retried.
    if (vdi.virtual_size < o.map.size) throw new Error(`the image (${o.map.size} bytes) is larger than the VDI (${vdi.virtual_size} bytes)`)
    const otherConfig = { ...vdi.other_config }
    const segmentBytes = o.tuning?.segmentBytes ?? SEGMENT_BYTES
    // A raw.xz still being decompressed, or a large image still being read (live-map.ts), is
    // followed segment by segment (liveSegments) into a fresh VDI; a checkpoint to resume
    // from needs the whole image's identity first.
    const live = o.map.growth !== undefined && !parseCheckpoint(otherConfig).identity
    if (!live) await settledMap(o.map)
    const hashes = (): Promise<Buffer> => regionHashes(o.map)
    const plan = live ? undefined : await planResume(o.map, otherConfig, segmentBytes, hashes)
    const resumedFrom = plan?.resumedFrom ?? 0
    if (plan?.discarded) {
      o.onEvent?.({ type: 'upload-restart', reason: plan.discarded })
      await clearCheckpoint(x, o.vdi, otherConfig, [OFFSET_KEY])
      o.onCheckpoint?.(undefined)
    }
    if (resumedFrom) o.onEvent?.({ type: 'upload-resume', offset: resumedFrom, image_size: o.map.size })
    // Checkpoints need the image's identity, whose hashing starts now and runs beside the
    // first segments on half the cores: more would take the ones the transfer needs
    // (measured: 4 workers slowed the first 256 MiB on a 1 Gb/s link by half). A growing
    // spool is hashed once complete: until then its segments get no checkpoint. The hashes
    // are insurance, so their workers are niced and stopped once the upload is done
    // (region-hashes.ts, BACKGROUND_NICE): where the transfer keeps the cores busy, a
    // finished run has not paid for them.
    const workers = Math.max(1, Math.floor(defaultWorkers() / 2))
    const insurance = new AbortController()
    const background = { workers, background: insurance.signal }
    // One segment needs no checkpoint, so no hash: known for a live map only once it is complete.
    const hashing = live
      ? settledMap(o.map).then((m) => (splitSegments(m, segmentBytes).length > 1 && !insurance.signal.aborted ? regionHashes(m, background) : undefined))
      : plan!.segments.length > 1
        ? regionHashes(o.map, background)
        : undefined
    const recorder = new Checkpointer(x, o.vdi, otherConfig, o.map, hashing, (c) => o.onCheckpoint?.(c))
    const known = plan?.segments.reduce((n, s) => n + s.bodyBytes, 0)
    const counts: Counts = { committed: 0, wire: 0, read: 0, retries: 0, target: undefined }
    const segments: Segment[] = []
    let completed = false
    try {
      const stream = plan ? plan.segments.map((s, i, all) => ({ ...s, last: i === all.length - 1 })) : liveSegments(o.map, segmentBytes)
      for await (const { last, ...seg } of stream) {
        segments.push(seg)
        const total = known ?? estimatedTotal(o.map, counts.committed + seg.bodyBytes, last)
        // While the spool grows the count is an estimate, from the share of the disk this segment ends at.
        const of = plan ? plan.segments.length : last ? seg.index + 1 : Math.max(seg.index + 2, Math.round(((seg.index + 1) * o.map.size) / Math.max(seg.end, 1)))
        await sendSegment(x, fh, o, seg, of, policy, counts, total)
        counts.committed += seg.bodyBytes
        // No checkpoint after the last segment: the finished VDI must not look resumable.
        if (!last) recorder.segmentDone(seg.end)
      }
      await settledMap(o.map)
      await assertUnchanged(o.map, o.image)
      completed = true
    } finally {
      if (completed && !o.keepHashes) insurance.abort()
      // After a failure (not an interrupt: the user is waiting), up to a minute for the hashing, to keep what was sent.
      await recorder.finish(completed, o.signal?.aborted ? 0 : 60_000)
      if (!completed) insurance.abort()
    }
    return {
      imageSize: o.map.size,
      dataBytes: o.map.dataBytes,
      bytesSent: counts.wire,
      // The map's reads are known once it is complete (a live map is still reading at the start);
      // hashes kept for --verify are still being read, and will all be.
      bytesRead: o.map.bytesRead + counts.read + (o.keepHashes && hashing && !o.map.hashes ? Math.max(hashedBytes(o.map), o.map.dataBytes) : hashedBytes(o.map)),
      regions: o.map.regions.length,
      method: o.map.method,
      segments,
      resumedFrom,
      retries: counts.retries,
      target: counts.target,
    }
  } finally {
    await fh.close()
  }
}

/**
 * target: undefined until XAPI has said where the VDI's transfers go (asked before each
 * attempt until it has, and again after a failed attempt); null: the session's own host.
 */
type Counts = { committed: number; wire: number; read: number; retries: number; target: TransferTarget | null | undefined }

/**
 * The progress bar's total while a spool still grows: what is known so far, scaled by the
 * share of the disk decompressed (the data seen so far is taken as typical of the rest).
 */
function estimatedTotal(map: DataMap, known: number, last: boolean): number {
  const g = map.growth
  if (last || !g) return known
  return Math.max(known, Math.round(known / Math.max(g.written() / g.size, 1e-6)))
}

/** One segment, retried by the policy's rules. */
async function sendSegment(x: XapiConnection, fh: DiskReader, o: UploadOptions, seg: Segment, of: number, policy: RetryPolicy, counts: Counts, total: number): Promise<void> {
  const attempt = async (): Promise<void> => {
    let sent = 0
    if (counts.target === undefined) counts.target = await transferTarget(x, o.vdi, o.signal)
    try {
      await putSegment(x, {
        target: counts.target ?? undefined,
        vdi: o.vdi,
        fh,
        regions: seg.regions,
        bodyBytes: seg.bodyBytes,
        label: `${basename(o.image)} segment ${seg.index + 1}/${of}`,
        signal: o.signal,
        onData: (d) => (counts.read += d.length),
        onSent: (n) => {
          sent = n
          o.onProgress?.({ sent: counts.committed + n, total })
        },
      })
    } catch (e) {
      // The SR may have moved (a PBD unplugged, a new master): ask again before the next attempt.
      counts.target = undefined
      throw e
    } finally {
      counts.wire += sent
    }
  }
  const onRetry = (n: { attempt: number; retriesLeft: number; error: string }): void => {
    counts.retries++
    o.onEvent?.({ type: 'upload-retry', segment: seg.index + 1, segments: of, attempt: n.attempt, retries_left: n.retriesLeft, error: n.error })
  }
  try {
    await withRetry(attempt, policy, onRetry, o.signal)
  } catch (e) {
    if (o.signal?.aborted) throw e
    throw new UploadFailed({ segment: seg, segments: of, attempts: attemptsOf(e), cause: e })
  }
}

/** The map was taken before the upload; an image rewritten since would be uploaded half old, half new. */
async function assertUnchanged(before: DataMap, image: string): Promise<void> {
  const after = await stat(before.path)
  if (after.size !== (before.fileSize ?? before.size) || after.mtimeMs !== before.mtimeMs) {
    throw new Error(`${image} was modified during the upload; the VDI may hold a mix of old and new data. Run again once nothing writes to it.`)
  }
}
