/**
 * XAPI's "chunked" body framing for PUT /import_raw_vdi?chunked (vhd-tool chunked.ml):
 * records of a 12-byte little-endian header {u64 offset; u32 length} followed by
 * `length` bytes written at `offset`; a header {0, 0} ends the stream. It lets a client
 * send only the non-zero regions of a sparse image.
 */
export const CHUNK_HEADER_SIZE = 12
/** vhd-tool reads a record's data into one buffer; keep records well below u32. */
export const MAX_CHUNK_LENGTH = 0xffff_ffff

export function encodeChunkHeader(offset: number, length: number): Buffer {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`chunk offset ${offset} is not a non-negative integer`)
  if (!Number.isInteger(length) || length < 0 || length > MAX_CHUNK_LENGTH) {
    throw new RangeError(`chunk length ${length} does not fit in a u32`)
  }
  const h = Buffer.alloc(CHUNK_HEADER_SIZE)
  h.writeBigUInt64LE(BigInt(offset), 0)
  h.writeUInt32LE(length, 8)
  return h
}

export const CHUNK_TERMINATOR: Buffer = Buffer.alloc(CHUNK_HEADER_SIZE)

/** Bytes on the wire for a list of data extents, terminator included: the Content-Length. */
export function framedLength(extents: readonly { length: number }[]): number {
  return extents.reduce((n, e) => n + CHUNK_HEADER_SIZE + e.length, CHUNK_HEADER_SIZE)
}

export interface ChunkData {
  offset: number
  data: Buffer
}

/**
 * Incremental decoder: feed it the body as it arrives, get back the data pieces in
 * order. A record's data may be split over several pieces (same record, rising offset),
 * so memory stays bounded by the size of the incoming network chunks.
 */
export class ChunkDecoder {
  private header = Buffer.alloc(CHUNK_HEADER_SIZE)
  private headerFill = 0
  private remaining = 0
  private offset = 0
  done = false

  push(buf: Buffer): ChunkData[] {
    const out: ChunkData[] = []
    let pos = 0
    while (pos < buf.length && !this.done) {
      if (this.remaining === 0) {
        const n = Math.min(CHUNK_HEADER_SIZE - this.headerFill, buf.length - pos)
        buf.copy(this.header, this.headerFill, pos, pos + n)
        this.headerFill += n
        pos += n
        if (this.headerFill < CHUNK_HEADER_SIZE) break
        this.headerFill = 0
        const offset = this.header.readBigUInt64LE(0)
        const length = this.header.readUInt32LE(8)
        if (offset === 0n && length === 0) {
          this.done = true
          break
        }
        if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`chunk offset ${offset} is out of range`)
        this.offset = Number(offset)
        this.remaining = length
        continue
      }
      const n = Math.min(this.remaining, buf.length - pos)
      out.push({ offset: this.offset, data: buf.subarray(pos, pos + n) })
      this.offset += n
      this.remaining -= n
      pos += n
    }
    return out
  }

  /** True when the stream stopped in the middle of a record or before the terminator. */
  get truncated(): boolean {
    return !this.done
  }
}
