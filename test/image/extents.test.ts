import { describe, expect, it } from 'vitest'
import { extentsReadAt, extentsToBuffer, normalizeExtents, shiftExtents } from '../../src/image/extents.js'
import { bufferReadAt } from '../../src/image/read-at.js'

describe('extents and ReadAt', () => {
  const extents = [
    { offset: 100, data: Buffer.from('bbb') },
    { offset: 10, data: Buffer.from('aaaa') },
    { offset: 200, data: Buffer.alloc(0) },
  ]

  it('sorts, drops empty extents and reads across gaps with zeros', () => {
    expect(normalizeExtents(extents).map((e) => e.offset)).toEqual([10, 100])
    const read = extentsReadAt(extents)
    expect(read(8, 8)).toEqual(Buffer.from([0, 0, 97, 97, 97, 97, 0, 0]))
    expect(read(101, 10).subarray(0, 3).toString('latin1')).toBe('bb\0')
    expect(extentsToBuffer(shiftExtents(extents, 5), 110).subarray(15, 19).toString()).toBe('aaaa')
  })

  it('refuses overlaps and extents past the image', () => {
    expect(() =>
      normalizeExtents([
        { offset: 0, data: Buffer.alloc(10) },
        { offset: 5, data: Buffer.alloc(1) },
      ]),
    ).toThrow(/overlap/)
    expect(() => normalizeExtents(extents, 50)).toThrow(/past the image size/)
  })

  it('zero-fills reads past the end of a buffer and rejects bad ranges', () => {
    const read = bufferReadAt(Buffer.from('abc'))
    expect(read(1, 4)).toEqual(Buffer.from([98, 99, 0, 0]))
    expect(read(10, 2)).toEqual(Buffer.alloc(2))
    expect(() => read(-1, 2)).toThrow(RangeError)
    expect(() => read(0, 1.5)).toThrow(RangeError)
  })
})
