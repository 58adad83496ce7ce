import { describe, expect, it } from 'vitest'
import * as fs from 'node:fs'
import { randomBytes } from 'node:crypto'
import * as zlib from 'node:zlib'
import { pieceIoOf } from '../../src/disk/piece-io.js'
import { readPieces } from '../../src/disk/read-pieces.js'

const UNIT = 64 * 1024
/** A grain as a stream-optimized VMDK holds it: half random (stored blocks), half zeros (coded). */
const grain = (): Buffer => Buffer.concat([randomBytes(UNIT / 2), Buffer.alloc(UNIT / 2)])

/** zlib without the stream internals piece-io.ts uses: what a future Node may give. */
const publicOnly = {
  ...zlib,
  createInflate: () => ({}) as zlib.Inflate,
  createInflateRaw: () => ({}) as zlib.InflateRaw,
} as typeof zlib

describe.each([
  ['reused zlib streams', zlib],
  ['the inflateSync fallback', publicOnly],
])('pieceIoOf, %s', (_name, z) => {
  it('inflates zlib and raw deflate clusters, one after the other, each exactly', () => {
    const io = pieceIoOf(fs, z)
    const out = Buffer.alloc(UNIT + 1)
    for (let i = 0; i < 20; i++) {
      const g = grain()
      const [kind, packed] = i % 3 === 0 ? (['deflate', zlib.deflateRawSync(g)] as const) : (['zlib', zlib.deflateSync(g)] as const)
      expect(io.inflate(kind, packed, out)).toBe(UNIT)
      expect(out.subarray(0, UNIT).equals(g)).toBe(true)
    }
  })

  it('a corrupt or cut cluster throws zlib’s error, and the next good one still inflates', () => {
    const io = pieceIoOf(fs, z)
    const out = Buffer.alloc(UNIT + 1)
    const g = grain()
    const packed = zlib.deflateSync(g)
    const bad = Buffer.from(packed)
    bad[0] = 0xff
    expect(() => io.inflate('zlib', bad, out)).toThrow(/header/)
    expect(() => io.inflate('zlib', packed.subarray(0, packed.length - 10), out)).toThrow(/unexpected end/)
    expect(io.inflate('zlib', packed, out)).toBe(UNIT)
    expect(out.subarray(0, UNIT).equals(g)).toBe(true)
  })

  it('readPieces refuses a cluster that inflates past its size (a zip bomb stops at one byte over)', () => {
    const io = pieceIoOf(fs, z)
    const dir = fs.mkdtempSync('/tmp/piece-io-')
    try {
      const file = `${dir}/c`
      const bomb = zlib.deflateSync(Buffer.alloc(64 * UNIT))
      const good = grain()
      const packed = zlib.deflateSync(good)
      fs.writeFileSync(file, Buffer.concat([bomb, packed]))
      const fd = fs.openSync(file, 'r')
      try {
        const out = Buffer.alloc(UNIT)
        const piece = (at: number, stored: number, skip = 0, length = UNIT) => ({ kind: 'zlib' as const, at, stored, skip, unit: UNIT, length })
        expect(() => readPieces(io, fd, [piece(0, bomb.length)], out)).toThrow(/at byte 0: a compressed cluster inflates to more than its 65536 bytes/)
        // A part of a cluster, after the refusal: the same reused buffers, the right bytes.
        readPieces(io, fd, [piece(bomb.length, packed.length, 1000, 5000)], out.subarray(0, 5000))
        expect(out.subarray(0, 5000).equals(good.subarray(1000, 6000))).toBe(true)
      } finally {
        fs.closeSync(fd)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

it('pieceIoOf keeps its scratch buffers from one cluster to the next (no allocation per grain)', () => {
  const io = pieceIoOf(fs, zlib)
  const a = io.scratch(1, UNIT + 1)
  const b = io.scratch(1, 512)
  expect(b.buffer).toBe(a.buffer)
  expect(io.scratch(0, 4 * UNIT).length).toBe(4 * UNIT)
  expect(io.scratch(0, 100).buffer).toBe(io.scratch(0, 4 * UNIT).buffer)
})
