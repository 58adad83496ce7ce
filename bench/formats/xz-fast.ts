import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import { crc32 } from 'node:zlib'

const PIECE = 1024 * 1024
const CHUNK = 64 * 1024

/**
 * Writes `file`.xz as `xz -0` would for this bench's images, in seconds instead of the
 * half hour xz takes to find no matches in 2 GiB of random data on a loaded 2-core
 * machine. The file is a series of xz streams (xz -dc reads concatenated streams): a
 * run of zero 64 KiB blocks is the streams xz itself makes of 1 MiB and 64 KiB of zeros
 * (LZMA-coded, decoded as usual), any other block is stored in LZMA2's uncompressed
 * chunks, which is what xz's encoder emits for incompressible data. So decompressing
 * does the work it would do on xz's own file. Format: the .xz file format 1.2.1
 * (tukaani.org), check type None.
 *
 * `encode` replaces the stored chunks for the data (realistic.ts: real xz streams of
 * compressible data); it gets each run of non-zero blocks, up to 1 MiB.
 */
export function writeXz(file: string, encode: (data: Buffer) => Buffer = storedStream): string {
  const zero1M = execFileSync('xz', ['-0', '-c'], { input: Buffer.alloc(PIECE) })
  const zero64K = execFileSync('xz', ['-0', '-c'], { input: Buffer.alloc(CHUNK) })
  const inFd = openSync(file, 'r')
  const out = openSync(`${file}.xz`, 'w')
  const buf = Buffer.allocUnsafe(PIECE)
  const zeros = Buffer.alloc(CHUNK)
  let data: Buffer[] = []
  let zeroBlocks = 0
  const flush = (): void => {
    if (data.length) writeSync(out, encode(Buffer.concat(data)))
    data = []
    for (; zeroBlocks >= PIECE / CHUNK; zeroBlocks -= PIECE / CHUNK) writeSync(out, zero1M)
    for (; zeroBlocks > 0; zeroBlocks--) writeSync(out, zero64K)
  }
  try {
    for (let pos = 0; ; pos += PIECE) {
      const n = readSync(inFd, buf, 0, PIECE, pos)
      if (n === 0) break
      for (let i = 0; i < n; i += CHUNK) {
        const block = buf.subarray(i, Math.min(n, i + CHUNK))
        const zero = block.length === CHUNK && block.equals(zeros)
        if (zero ? data.length > 0 : zeroBlocks > 0) flush()
        if (zero) zeroBlocks++
        else data.push(Buffer.from(block))
        if (data.length === PIECE / CHUNK) flush()
      }
    }
    flush()
  } finally {
    closeSync(inFd)
    closeSync(out)
  }
  return `${file}.xz`
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
const withCrc = (b: Buffer): Buffer => Buffer.concat([b, u32(crc32(b))])
const varint = (n: number): number[] => {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4)

/** One xz stream holding `data` in one block of uncompressed LZMA2 chunks. */
function storedStream(data: Buffer): Buffer {
  const flags = Buffer.from([0x00, 0x00]) // check type None
  const header = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), withCrc(flags)])
  // Block header: size byte ((12 / 4) - 1), flags (one filter), LZMA2 (0x21), 1 property byte (dictionary 1 MiB), padding, CRC32.
  const blockHeader = withCrc(Buffer.from([0x02, 0x00, 0x21, 0x01, 0x08, 0x00, 0x00, 0x00]))
  const parts: Buffer[] = []
  for (let i = 0; i < data.length; i += CHUNK) {
    const n = Math.min(CHUNK, data.length - i)
    // 0x01: uncompressed chunk resetting the dictionary (the first), 0x02: without a reset.
    parts.push(Buffer.from([i === 0 ? 0x01 : 0x02, (n - 1) >> 8, (n - 1) & 0xff]), data.subarray(i, i + n))
  }
  parts.push(Buffer.from([0x00]))
  const lzma2 = Buffer.concat(parts)
  const unpadded = blockHeader.length + lzma2.length
  const indexBody = Buffer.from([0x00, ...varint(1), ...varint(unpadded), ...varint(data.length)])
  const index = withCrc(Buffer.concat([indexBody, pad4(indexBody.length)]))
  const backward = Buffer.concat([u32(index.length / 4 - 1), flags])
  const footer = Buffer.concat([u32(crc32(backward)), backward, Buffer.from('YZ')])
  return Buffer.concat([header, blockHeader, lzma2, pad4(unpadded), index, footer])
}
