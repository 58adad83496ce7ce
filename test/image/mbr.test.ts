import { describe, expect, it } from 'vitest'
import { ImageFormatError } from '../../src/image/errors.js'
import { buildMbr, MBR_TYPE_FREEBSD, MBR_TYPE_LINUX, parseMbr } from '../../src/image/mbr.js'

describe('MBR', () => {
  it('round-trips entries and sets the 55 AA signature', () => {
    const mbr = buildMbr([
      { type: MBR_TYPE_LINUX, startLba: 2048, sectors: 4096 },
      { type: MBR_TYPE_FREEBSD, startLba: 6144, sectors: 100000, active: true },
    ])
    expect(mbr.length).toBe(512)
    expect(mbr.subarray(510)).toEqual(Buffer.from([0x55, 0xaa]))
    const parsed = parseMbr(mbr)
    expect(parsed.signatureValid).toBe(true)
    expect(parsed.entries.map((e) => [e.type, e.startLba, e.sectors, e.active])).toEqual([
      [MBR_TYPE_LINUX, 2048, 4096, false],
      [MBR_TYPE_FREEBSD, 6144, 100000, true],
      [0, 0, 0, false],
      [0, 0, 0, false],
    ])
  })

  it('writes the entry FreeBSD fdisk writes for a slice at LBA 63 (bytes from pygrub-ufs.md §3)', () => {
    const mbr = buildMbr([{ type: MBR_TYPE_FREEBSD, startLba: 63, sectors: 65552, active: true }])
    expect(mbr.subarray(446, 462).toString('hex')).toBe('80010100a51520043f00000010000100')
  })

  it('saturates CHS past cylinder 1023', () => {
    const mbr = buildMbr([{ type: MBR_TYPE_FREEBSD, startLba: 63, sectors: 40_000_000 }])
    expect(mbr.subarray(451, 454)).toEqual(Buffer.from([0xfe, 0xff, 0xff]))
  })

  it('reports a missing signature and rejects short input', () => {
    expect(parseMbr(Buffer.alloc(512)).signatureValid).toBe(false)
    expect(() => parseMbr(Buffer.alloc(100))).toThrow(ImageFormatError)
  })

  it('refuses impossible entries', () => {
    expect(() => buildMbr([{ type: 0x83, startLba: 0, sectors: 1 }])).toThrow(RangeError)
    expect(() => buildMbr([{ type: 0x83, startLba: 2, sectors: 0xffffffff }])).toThrow(RangeError)
    const five = Array.from({ length: 5 }, (_, i) => ({ type: 0x83, startLba: 1 + i, sectors: 1 }))
    expect(() => buildMbr(five)).toThrow(RangeError)
  })
})
