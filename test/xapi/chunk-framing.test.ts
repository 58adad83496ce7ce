import { describe, expect, it } from 'vitest'
import { ChunkDecoder, CHUNK_TERMINATOR, encodeChunkHeader, framedLength } from '../../src/xapi/chunk-framing.js'

describe('chunked framing', () => {
  it('writes the 12-byte little-endian header {u64 offset, u32 length}', () => {
    expect(encodeChunkHeader(0x1_0000_0200, 0x10).toString('hex')).toBe('0002000001000000' + '10000000')
    expect(CHUNK_TERMINATOR).toEqual(Buffer.alloc(12))
  })

  it('refuses lengths that do not fit a u32 and negative offsets', () => {
    expect(() => encodeChunkHeader(0, 2 ** 32)).toThrow(RangeError)
    expect(() => encodeChunkHeader(-1, 1)).toThrow(RangeError)
  })

  it('decodes a stream split at every possible byte boundary', () => {
    const records = [
      { offset: 512, data: Buffer.from('hello') },
      { offset: 1 << 20, data: Buffer.alloc(300, 7) },
    ]
    const body = Buffer.concat([...records.flatMap((r) => [encodeChunkHeader(r.offset, r.data.length), r.data]), CHUNK_TERMINATOR])
    expect(body.length).toBe(framedLength(records.map((r) => ({ length: r.data.length }))))
    for (let cut = 0; cut <= body.length; cut++) {
      const d = new ChunkDecoder()
      const pieces = [...d.push(body.subarray(0, cut)), ...d.push(body.subarray(cut))]
      const merged = new Map<number, Buffer>()
      for (const r of records) merged.set(r.offset, Buffer.alloc(0))
      for (const p of pieces) {
        const start = records.find((r) => p.offset >= r.offset && p.offset < r.offset + r.data.length)!
        merged.set(start.offset, Buffer.concat([merged.get(start.offset)!, p.data]))
      }
      expect([...merged.values()]).toEqual(records.map((r) => r.data))
      expect(d.done).toBe(true)
    }
  })

  it('reports a stream that ends before the terminator as truncated', () => {
    const d = new ChunkDecoder()
    d.push(Buffer.concat([encodeChunkHeader(0, 4), Buffer.from('ab')]))
    expect(d.truncated).toBe(true)
  })
})
