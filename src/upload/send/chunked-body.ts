import type { DiskReader } from '../../disk/disk-reader.js'
import { CHUNK_HEADER_SIZE, CHUNK_TERMINATOR, encodeChunkHeader } from '../../xapi/chunk-framing.js'
import type { DataMap, Region } from '../find/data-map.js'
import { SEGMENT_BYTES, splitSegments } from '../resume/segments.js'

const READ_SIZE = 4 * 1024 * 1024

/**
 * Bytes on the wire for the whole image: one framed body per segment. XAPI refuses
 * Transfer-Encoding, so every body's length must be known before it is sent.
 */
export const bodyLength = (map: DataMap, segmentBytes = SEGMENT_BYTES): number => splitSegments(map, segmentBytes).reduce((n, s) => n + s.bodyBytes, 0)

/** Reads exactly `buf.length` bytes at `offset`; a short read means the image shrank under us. */
export async function readExactly(fh: Pick<DiskReader, 'read'>, buf: Buffer, offset: number, what: string): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done)
    if (bytesRead === 0) throw new Error(`${what} shrank while it was being read (short read at byte ${offset + done})`)
    done += bytesRead
  }
}

/**
 * One PUT's body in XAPI's chunked framing: each region's 12-byte header, then its data
 * read from the open image in pieces of up to 4 MiB, then the terminator. `onData` sees
 * every data piece in order, as it goes out.
 *
 * Two buffers take turns, and nothing else is allocated per piece: a fresh buffer per
 * piece costs a full GC every 64 MiB (V8's external-memory limit), measured at 1-2 s per
 * GiB. Reuse is safe only because got writes an async-iterable body one chunk at a
 * time and asks for the next chunk after the previous one's write callback, when the
 * kernel has it. While one buffer is being written, the next piece is already being
 * read into the other, so the socket never waits for the disk. Never hand this to a
 * stream that buffers chunks.
 *
 * A region's header goes out in the same chunk as its first piece (each buffer keeps 12
 * bytes in front of its data for it): one write, not two, per region, so an image of
 * many small regions does not pay a system call and a TCP segment for every header.
 */
export async function* chunkedBody(fh: Pick<DiskReader, 'read'>, regions: readonly Region[], onData: (data: Buffer) => void, what = 'the image'): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(CHUNK_HEADER_SIZE + READ_SIZE), Buffer.allocUnsafe(CHUNK_HEADER_SIZE + READ_SIZE)]
  let turn = 0
  const read = (p: Piece): Promise<Buffer> => {
    const buf = buffers[turn++ % 2]!
    const data = buf.subarray(CHUNK_HEADER_SIZE, CHUNK_HEADER_SIZE + p.length)
    const done = readExactly(fh, data, p.offset, what).then(() => {
      if (!p.header) return data
      p.header.copy(buf, 0)
      return buf.subarray(0, CHUNK_HEADER_SIZE + p.length)
    })
    // Observed now: when the consumer stops early, nobody awaits the read in flight.
    done.catch(() => undefined)
    return done
  }
  const it = pieces(regions)
  let cur = it.next()
  let reading = cur.done ? undefined : read(cur.value)
  try {
    while (!cur.done) {
      const p = cur.value
      const chunk = await reading!
      cur = it.next()
      reading = cur.done ? undefined : read(cur.value)
      onData(p.header ? chunk.subarray(CHUNK_HEADER_SIZE) : chunk)
      yield chunk
    }
    yield CHUNK_TERMINATOR
  } finally {
    // The caller closes the file next; let a read still in flight finish first.
    await reading?.catch(() => undefined)
  }
}

interface Piece {
  /** The region's record header, sent before its first piece. */
  header?: Buffer
  offset: number
  length: number
}

function* pieces(regions: readonly Region[]): Generator<Piece> {
  for (const r of regions) {
    for (let done = 0; done < r.length; done += READ_SIZE) {
      const piece = { offset: r.offset + done, length: Math.min(READ_SIZE, r.length - done) }
      yield done === 0 ? { header: encodeChunkHeader(r.offset, r.length), ...piece } : piece
    }
  }
}
