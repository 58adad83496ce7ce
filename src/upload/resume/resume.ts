import type { DataMap } from '../find/data-map.js'
import { splitSegments, type Segment } from './segments.js'
import { identityOf, layoutOf, parseCheckpoint, sameIdentity, sameLayout } from './checkpoint.js'

export interface ResumePlan {
  /** What is left to send, from `resumedFrom` to the end of the image. */
  segments: Segment[]
  /** The image offset below which the VDI already holds the image (0: nothing). */
  resumedFrom: number
  /** Why a checkpoint on the VDI was not used, when there was one. */
  discarded?: string
}

/**
 * Decides where an upload into a VDI starts, from the checkpoint in its other_config:
 *  - no checkpoint: from the start;
 *  - the same identity (size, layout, content): from the checkpoint's offset;
 *  - the same layout but other content (the image was edited in place): from the start
 *    on the same VDI, which is safe because that layout rewrites every block the
 *    earlier upload wrote;
 *  - another layout: refused, because blocks of that image would survive in this
 *    image's holes (provision never picks such a VDI; see partial-vdi.ts).
 * Only a checkpoint to resume from needs the content hashes; a fresh VDI starts at once.
 */
export async function planResume(map: DataMap, otherConfig: Record<string, string>, segmentBytes: number, hashes: () => Promise<Buffer>): Promise<ResumePlan> {
  const stored = parseCheckpoint(otherConfig)
  const from = (offset: number, discarded?: string): ResumePlan => ({ segments: splitSegments(map, segmentBytes, offset), resumedFrom: offset, ...(discarded ? { discarded } : {}) })
  if (!stored.identity) return from(0)
  if (!sameLayout(stored.identity, layoutOf(map))) {
    throw new Error(`the VDI holds part of another image (size ${stored.identity.size}, map ${stored.identity.map.slice(0, 12)}…); refusing to write this one over it`)
  }
  const offset = stored.checkpoint?.offset ?? 0
  if (offset === 0) return from(0)
  if (!sameIdentity(stored.identity, identityOf(map, await hashes()))) return from(0, `the image changed since its first ${offset} bytes were uploaded`)
  // Checkpoints sit between regions; one inside a region was not written by this program.
  if (offset > map.size || map.regions.some((r) => r.offset < offset && offset < r.offset + r.length)) {
    return from(0, `its checkpoint (byte ${offset}) is not between two of this image's regions`)
  }
  return from(offset)
}
