import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { crc32 } from '../image/crc32.js'

/**
 * The uncompressed size an .xz file declares, read from its indexes without decompressing
 * (the .xz file format 1.2.1, tukaani.org: each stream ends with its index and a 12-byte
 * footer; streams may be concatenated, with zero padding in 4-byte units between them).
 * `xz --robot --list` gives the same figure, but merges each stream's index into one as it
 * goes: 2.6 s of CPU for a file of 16384 one-MiB streams (what `pixz`, `cat a.xz b.xz` or
 * this project's bench write), spent before decompression can start. Walking the footers
 * backwards costs two reads per stream. xz itself rejects a stream whose blocks disagree
 * with its index, so the figure is enforced during decompression.
 */
export function readXzDeclaredSize(path: string): number {
  const fd = openSync(path, 'r')
  try {
    return walkStreams(fd, fstatSync(fd).size)
  } finally {
    closeSync(fd)
  }
}

/** What is wrong with the file and where: the caller names the file and the fix. */
export class XzIndexError extends Error {
  constructor(
    readonly offset: number,
    what: string,
  ) {
    super(`${what} (at byte ${offset})`)
  }
}

const HEADER = 12
const FOOTER = 12
const FOOTER_MAGIC = 0x5a59 // "YZ"
const HEADER_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])

function walkStreams(fd: number, fileSize: number): number {
  let end = fileSize
  let total = 0
  let streams = 0
  const word = Buffer.alloc(4)
  for (;;) {
    // Stream padding: zero 4-byte words after a stream (never before the first).
    while (end >= 4 && readAt(fd, word, end - 4).readUInt32LE(0) === 0) end -= 4
    if (end === 0 && streams > 0) return total
    if (end % 4 !== 0) throw new XzIndexError(end, 'the file does not end on a 4-byte boundary: it is truncated')
    if (end < HEADER + FOOTER) throw new XzIndexError(end, 'too short for an xz stream: the file is truncated')
    const footer = readAt(fd, Buffer.alloc(FOOTER), end - FOOTER)
    if (footer.readUInt16LE(10) !== FOOTER_MAGIC) throw new XzIndexError(end - FOOTER, 'no xz stream footer: the file is truncated or not xz')
    if (crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) throw new XzIndexError(end - FOOTER, 'the stream footer fails its CRC32')
    const indexSize = (footer.readUInt32LE(4) + 1) * 4
    const indexAt = end - FOOTER - indexSize
    if (indexAt < HEADER) throw new XzIndexError(end - FOOTER, `the footer's index size (${indexSize} bytes) runs past the start of the file`)
    const index = readAt(fd, Buffer.alloc(indexSize), indexAt)
    const { uncompressed, blocks } = parseIndex(index, indexAt)
    const start = indexAt - blocks - HEADER
    if (start < 0) throw new XzIndexError(indexAt, `the index's blocks (${blocks} bytes) run past the start of the file`)
    const header = readAt(fd, Buffer.alloc(HEADER), start)
    if (!header.subarray(0, 6).equals(HEADER_MAGIC)) throw new XzIndexError(start, 'no xz stream header where the index says the stream starts')
    // The stream flags are in the header and the footer: they must agree (as xz checks).
    if (!header.subarray(6, 8).equals(footer.subarray(8, 10))) throw new XzIndexError(start, "the stream header's flags differ from its footer's")
    total += uncompressed
    if (!Number.isSafeInteger(total)) throw new XzIndexError(indexAt, 'the declared size is beyond what a disk can be')
    streams++
    end = start
  }
}

/** One index: its records' uncompressed sizes summed, and the bytes its blocks take (unpadded sizes rounded up to 4). */
function parseIndex(b: Buffer, at: number): { uncompressed: number; blocks: number } {
  if (crc32(b.subarray(0, b.length - 4)) !== b.readUInt32LE(b.length - 4)) throw new XzIndexError(at, 'the stream index fails its CRC32')
  if (b[0] !== 0) throw new XzIndexError(at, 'no index indicator where the footer says the index starts')
  let pos = 1
  const vli = (): number => {
    let v = 0
    for (let i = 0, mul = 1; i < 9; i++, mul *= 128) {
      if (pos >= b.length - 4) break
      const byte = b[pos++]!
      v += (byte & 0x7f) * mul
      if (!(byte & 0x80)) return v
    }
    throw new XzIndexError(at + pos, 'a malformed number in the stream index')
  }
  const records = vli()
  let uncompressed = 0
  let blocks = 0
  for (let i = 0; i < records; i++) {
    const unpadded = vli()
    blocks += Math.ceil(unpadded / 4) * 4
    uncompressed += vli()
  }
  // The rest is padding to a 4-byte boundary, zeros, then the CRC32 checked above.
  while (pos < b.length - 4) if (b[pos++] !== 0) throw new XzIndexError(at + pos - 1, 'the stream index has more records than it declares')
  return { uncompressed, blocks }
}

function readAt(fd: number, buf: Buffer, pos: number): Buffer {
  let done = 0
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, pos + done)
    if (n === 0) throw new XzIndexError(pos + done, 'the file ended early: it is truncated')
    done += n
  }
  return buf
}
