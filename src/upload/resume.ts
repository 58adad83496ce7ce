import type { FileHandle } from 'node:fs/promises'
import type { DataMap } from './data-map.js'
import { splitSegments, type Segment } from './segments.js'
import { chainStart, identityOf, parseCheckpoint, sameIdentity, type UploadIdentity } from './checkpoint.js'
import { chainOf } from './segment-hash.js'

export interface ResumePlan {
  identity: UploadIdentity
  segments: Segment[]
  /** Segments already in the VDI: the upload starts with segments[skip]. */
  skip: number
  /** The chain after `skip` segments, and their hashes (for --verify). */
  chain: string
  hashes: string[]
  bytesRead: number
  /** Why a checkpoint on the VDI was not used, when there was one. */
  discarded?: string
}

/**
 * Decides where an upload into `vdi` starts, from the checkpoint in its other_config:
 *  - no checkpoint: from the start;
 *  - another image layout: refused, because blocks of that image would survive in this
 *    image's holes (provision never picks such a VDI; see partial-vdi.ts);
 *  - same layout, chain recomputed from the image matches: after the recorded segments;
 *  - same layout, chain differs (bytes already sent have changed since): from the start
 *    on the same VDI, which is safe because the same layout rewrites every block the
 *    earlier upload wrote.
 * A checkpoint made with another segment size is read with that size, so its chain can
 * be checked; the rest of the upload then keeps it.
 */
export async function planResume(fh: FileHandle, map: DataMap, otherConfig: Record<string, string>, segmentBytes: number, what: string): Promise<ResumePlan> {
  const stored = parseCheckpoint(otherConfig)
  const proposed = identityOf(map, segmentBytes)
  const sameLayout = stored.identity && stored.identity.size === proposed.size && stored.identity.map === proposed.map
  const identity = sameLayout ? stored.identity! : proposed
  const segments = splitSegments(map, identity.segment_bytes)
  const fresh: ResumePlan = { identity, segments, skip: 0, chain: chainStart(identity), hashes: [], bytesRead: 0 }
  if (stored.identity && !sameIdentity(stored.identity, identity)) {
    throw new Error(`the VDI holds part of another image (size ${stored.identity.size}, map ${stored.identity.map.slice(0, 12)}…); refusing to write this one over it`)
  }
  const c = stored.checkpoint
  if (!c || c.segments === 0) return fresh
  if (c.segments > segments.length || segments[c.segments - 1]!.end !== c.offset) {
    return { ...fresh, discarded: `its checkpoint (${c.segments} segments, byte ${c.offset}) does not fit this image's segments` }
  }
  const done = await chainOf(fh, segments.slice(0, c.segments), fresh.chain, what)
  if (done.chain !== c.chain) {
    return { ...fresh, bytesRead: done.bytesRead, discarded: `the image's first ${c.offset} bytes changed since they were uploaded` }
  }
  return { ...fresh, skip: c.segments, chain: done.chain, hashes: done.hashes, bytesRead: done.bytesRead }
}
