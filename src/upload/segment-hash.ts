import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { readExactly } from './chunked-body.js'
import type { Segment } from './segments.js'
import { chainNext } from './checkpoint.js'

const READ_SIZE = 4 * 1024 * 1024

/**
 * sha256 of a segment's data: its regions' bytes, in order, nothing else (the layout is
 * in the identity). The same value the upload computes while sending the segment.
 */
export async function hashSegment(fh: FileHandle, seg: Segment, what: string): Promise<{ sha256: string; bytesRead: number }> {
  const h = createHash('sha256')
  const buf = Buffer.allocUnsafe(READ_SIZE)
  let bytesRead = 0
  for (const r of seg.regions) {
    for (let done = 0; done < r.length; ) {
      const piece = buf.subarray(0, Math.min(READ_SIZE, r.length - done))
      await readExactly(fh, piece, r.offset + done, what)
      h.update(piece)
      done += piece.length
      bytesRead += piece.length
    }
  }
  return { sha256: h.digest('hex'), bytesRead }
}

/**
 * Recomputes, from the image as it is now, the chain a checkpoint recorded after
 * `segments.length` segments: reading costs local I/O only, and proves the bytes
 * already in the VDI are this image's before anything is appended to them.
 */
export async function chainOf(fh: FileHandle, segments: readonly Segment[], start: string, what: string): Promise<{ chain: string; hashes: string[]; bytesRead: number }> {
  let chain = start
  let bytesRead = 0
  const hashes: string[] = []
  for (const seg of segments) {
    const h = await hashSegment(fh, seg, what)
    chain = chainNext(chain, h.sha256)
    hashes.push(h.sha256)
    bytesRead += h.bytesRead
  }
  return { chain, hashes, bytesRead }
}
