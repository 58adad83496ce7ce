import type { DataMap } from './data-map.js'
import { splitSegments, type Segment } from './segments.js'
import { identityOf, parseCheckpoint, sameIdentity, sameLayout, type UploadIdentity } from './checkpoint.js'

export interface ResumePlan {
  identity: UploadIdentity
  segments: Segment[]
  /** Segments already in the VDI: the upload starts with segments[skip]. */
  skip: number
  /** Why a checkpoint on the VDI was not used, when there was one. */
  discarded?: string
}

/**
 * Decides where an upload into a VDI starts, from the checkpoint in its other_config:
 *  - no checkpoint: from the start;
 *  - the same identity (size, layout, content): after the recorded segments;
 *  - the same layout but other content (the image was edited in place): from the start
 *    on the same VDI, which is safe because that layout rewrites every block the
 *    earlier upload wrote;
 *  - another layout: refused, because blocks of that image would survive in this
 *    image's holes (provision never picks such a VDI; see partial-vdi.ts).
 * A checkpoint made with another segment size keeps that size, so its count of
 * segments still means the same bytes. A pure function: the map has every hash needed.
 */
export function planResume(map: DataMap, otherConfig: Record<string, string>, segmentBytes: number): ResumePlan {
  const stored = parseCheckpoint(otherConfig)
  const mine = identityOf(map, stored.identity?.segment_bytes ?? segmentBytes)
  const fresh = (identity: UploadIdentity, discarded?: string): ResumePlan => ({ identity, segments: splitSegments(map, identity.segment_bytes), skip: 0, ...(discarded ? { discarded } : {}) })
  if (!stored.identity) return fresh(identityOf(map, segmentBytes))
  if (!sameLayout(stored.identity, mine)) {
    throw new Error(`the VDI holds part of another image (size ${stored.identity.size}, map ${stored.identity.map.slice(0, 12)}…); refusing to write this one over it`)
  }
  const c = stored.checkpoint
  if (!sameIdentity(stored.identity, mine)) {
    return fresh(identityOf(map, segmentBytes), c?.segments ? `the image changed since its first ${c.offset} bytes were uploaded` : undefined)
  }
  const plan = fresh(mine)
  if (!c || c.segments === 0) return plan
  if (c.segments > plan.segments.length || plan.segments[c.segments - 1]!.end !== c.offset) {
    return { ...plan, discarded: `its checkpoint (${c.segments} segments, byte ${c.offset}) does not fit this image's segments` }
  }
  return { ...plan, skip: c.segments }
}
