import { framedLength } from '../../xapi/chunk-framing.js'
import { fromRuns, type DataMap, type Region } from '../find/data-map.js'

/**
 * Data per segment. Each segment is one PUT /import_raw_vdi and one task, and the unit
 * of retry and of resume: a failure costs at most one segment again. Measured on the
 * simulator (docs/upload.md), one segment's fixed cost (task.create, the PUT, the task
 * wait, the checkpoint) is a few milliseconds, so 256 MiB keeps it under 1% of the
 * transfer while a cut loses at most ~3 s of a gigabit link.
 */
export const SEGMENT_BYTES = 256 * 1024 * 1024

export interface Segment {
  /** 0-based position in the upload. */
  index: number
  regions: Region[]
  /** Index of regions[0] in the map, so each region's hash can be found (region-hashes.ts). */
  firstRegion: number
  /** Image bytes [start, end) that this segment is responsible for, holes included. */
  start: number
  end: number
  dataBytes: number
  /** Content-Length of its PUT: data, 12-byte record headers and the terminator. */
  bodyBytes: number
}

/**
 * Cuts the map, from image offset `from` (a region boundary: 0, or a checkpoint) to its
 * end, into consecutive segments of whole regions holding at least `segmentBytes` of
 * data each (the last one less). A pure function of the map: the same image gives the
 * same segments on any machine. Even without data there is one (empty) segment, whose
 * PUT proves the VDI is reachable, as before segments existed.
 */
export function splitSegments(map: DataMap, segmentBytes = SEGMENT_BYTES, from = 0): Segment[] {
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) throw new RangeError(`segment size ${segmentBytes} is not a positive integer`)
  const out: Segment[] = []
  let regions: Region[] = []
  let data = 0
  let start = from
  let first = map.regions.findIndex((r) => r.offset >= from)
  if (first < 0) first = map.regions.length
  const close = (end: number): void => {
    out.push({ index: out.length, regions, firstRegion: first, start, end, dataBytes: data, bodyBytes: framedLength(regions) })
    first += regions.length
    regions = []
    data = 0
    start = end
  }
  for (const r of map.regions.slice(first)) {
    // The boundary sits where the next segment's first region starts, so holes belong to the earlier segment.
    if (data >= segmentBytes) close(r.offset)
    regions.push(r)
    data += r.length
  }
  close(map.size)
  return out
}

/**
 * The segments of `map` as they become known: splitSegments' own, in order, each yielded
 * once its data is known, while a raw.xz is still being decompressed or a large image
 * still being read (map.growth); at once for any other map. `last` marks the final one.
 * The split is greedy, so a prefix of the image closes the same segments as the whole: a
 * segment is yielded only when the next one's first region is known, and that region
 * below the mark (decompressed, or read) is final.
 */
export async function* liveSegments(map: DataMap, segmentBytes = SEGMENT_BYTES): AsyncGenerator<Segment & { last: boolean }> {
  const growth = map.growth
  growth?.follow?.()
  let sent = 0
  let finalRuns = -1
  // Data in the final runs past the segments yielded: below segmentBytes none can close, so
  // the split (linear in the runs so far) is not redone at every step of a large image.
  let counted = 0
  let pending = 0
  for (;;) {
    const complete = !growth || growth.complete()
    let segs: Segment[] = []
    if (complete) segs = splitSegments(growth ? { ...map, ...fromRuns(growth.runs) } : map, segmentBytes)
    else {
      // The run that reaches the decompressed mark may still grow: the next block decides.
      const mark = growth.written()
      let n = growth.runs.length
      if (n && growth.runs[n - 2]! + growth.runs[n - 1]! >= mark) n -= 2
      for (; counted < n; counted += 2) pending += growth.runs[counted + 1]!
      // Only a new final run can close a segment: the split is redone only then.
      if (n !== finalRuns && pending >= segmentBytes) {
        finalRuns = n
        segs = splitSegments({ ...map, ...fromRuns(growth.runs.slice(0, n)), size: mark }, segmentBytes).slice(0, -1)
      }
    }
    for (; sent < segs.length; sent++) {
      pending -= segs[sent]!.dataBytes
      yield { ...segs[sent]!, last: complete && sent === segs.length - 1 }
    }
    if (complete) return
    await growth.next()
  }
}
