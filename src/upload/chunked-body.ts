import type { FileHandle } from 'node:fs/promises'
import { CHUNK_TERMINATOR, encodeChunkHeader } from '../image/chunk-framing.js'
import type { DataMap, Region } from './data-map.js'
import { SEGMENT_BYTES, splitSegments } from './segments.js'

const READ_SIZE = 1024 * 1024

/**
 * Bytes on the wire for the whole image: one framed body per segment. XAPI refuses
 * Transfer-Encoding, so every body's length must be known before it is sent.
 */
export const bodyLength = (map: DataMap, segmentBytes = SEGMENT_BYTES): number =>
  splitSegments(map, segmentBytes).reduce((n, s) => n + s.bodyBytes, 0)

/** Reads exactly `buf.length` bytes at `offset`; a short read means the image shrank under us. */
export async function readExactly(fh: FileHandle, buf: Buffer, offset: number, what: string): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done)
    if (bytesRead === 0) throw new Error(`${what} shrank while it was being read (short read at byte ${offset + done})`)
    done += bytesRead
  }
}

/**
 * One PUT's body in XAPI's chunked framing: each region's 12-byte header, then its data
 * read from the open image in 1 MiB pieces, then the terminator. `onData` sees every
 * data piece in order (hashing, byte counts), so the data is read once for both.
 *
 * All data pieces share ONE buffer. That is safe only because got writes an async
 * iterable body one chunk at a time and asks for the next chunk after the previous
 * one's write callback, i.e. once the socket has it. A fresh 1 MiB buffer per piece
 * instead costs a full GC every 64 MiB (V8's external-memory limit): ~40 of them per
 * GiB, measured at 1-2 s of a 1 GiB upload. Never hand this to a stream that buffers.
 */
export async function* chunkedBody(fh: FileHandle, regions: readonly Region[], onData: (data: Buffer) => void, what = 'the image'): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(READ_SIZE)
  for (const r of regions) {
    yield encodeChunkHeader(r.offset, r.length)
    for (let done = 0; done < r.length; ) {
      const piece = buf.subarray(0, Math.min(READ_SIZE, r.length - done))
      await readExactly(fh, piece, r.offset + done, what)
      done += piece.length
      onData(piece)
      yield piece
    }
  }
  yield CHUNK_TERMINATOR
}
