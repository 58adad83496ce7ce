import { describe, expect, it } from 'vitest'
import { buildDisklabel, disklabelProblems, FS_BSDFFS, parseDisklabel, partitionStartInSlice, RAW_PART } from '../../src/image/disklabel.js'
import { ImageFormatError } from '../../src/image/errors.js'

describe('BSD disklabel', () => {
  it('builds the label bsdlabel(8) writes (a16, absolute offsets: bytes from pygrub-ufs.md §3)', () => {
    const label = buildDisklabel({ sliceSectors: 65552, partitionOffset: 16, offsetBase: 63, fsize: 4096, frag: 8 })
    expect(label.subarray(0, 4).toString('latin1')).toBe('WEV\x82')
    expect(label.subarray(132, 140).toString('hex')).toBe('5745568273080800') // magic2, checksum 0x0873, npartitions 8
    expect(label.subarray(140, 144).toString('hex')).toBe('00200000') // d_bbsize 8192
    expect(label.subarray(148, 164).toString('hex')).toBe('000001004f0000000010000007080000') // a
    expect(label.subarray(180, 196).toString('hex')).toBe('100001003f0000000000000000000000') // c
  })

  it('parses what it builds, with a valid checksum GEOM would accept', () => {
    const label = parseDisklabel(buildDisklabel({ sliceSectors: 131009, partitionOffset: 0, offsetBase: 63 }))
    expect(label).toMatchObject({ secsize: 512, nsectors: 63, ntracks: 255, secperunit: 131009, npartitions: 8, checksumValid: true })
    expect(label.partitions[0]).toMatchObject({ letter: 'a', size: 131009, offset: 63, fstype: FS_BSDFFS, fsize: 2048, frag: 8 })
    expect(label.partitions[RAW_PART]).toMatchObject({ letter: 'c', size: 131009, offset: 63, fstype: 0 })
    expect(disklabelProblems(label, 131009)).toEqual([])
  })

  it('computes the start in the slice the FreeBSD way for absolute and relative labels', () => {
    for (const offsetBase of [0, 63, 2048]) {
      for (const partitionOffset of [0, 16]) {
        const label = parseDisklabel(buildDisklabel({ sliceSectors: 100000, partitionOffset, offsetBase }))
        expect(label.partitions[0]?.offset).toBe(offsetBase + partitionOffset)
        expect(partitionStartInSlice(label, 0)).toBe(partitionOffset)
        expect(partitionStartInSlice(label, RAW_PART)).toBe(0)
      }
    }
  })

  it('skips unused entries and entries below c.p_offset', () => {
    const raw = buildDisklabel({ sliceSectors: 100000, partitionOffset: 16, offsetBase: 63 })
    raw.writeUInt32LE(10, 148 + 4) // a.p_offset < c.p_offset (63)
    const label = parseDisklabel(raw)
    expect(partitionStartInSlice(label, 0)).toBeNull()
    expect(partitionStartInSlice(label, 1)).toBeNull() // b unused
    expect(partitionStartInSlice(label, 12)).toBeNull() // beyond npartitions
  })

  it('detects checksum damage and labels GEOM would reject', () => {
    const raw = buildDisklabel({ sliceSectors: 100000, partitionOffset: 0, offsetBase: 63 })
    raw.writeUInt32LE(99999, 148) // a.p_size changed without fixing the checksum
    const label = parseDisklabel(raw)
    expect(label.checksumValid).toBe(false)
    expect(disklabelProblems(label, 50000)).toEqual(['checksum mismatch', 'd_secperunit 100000 not in 1..50000'])
    const four = Buffer.from(raw)
    four.writeUInt16LE(4, 138) // util-linux fdisk writes 4 partitions
    expect(disklabelProblems(parseDisklabel(four), 100000)).toContain('d_npartitions 4 < 8')
  })

  it('throws ImageFormatError without magic or with too many partitions', () => {
    expect(() => parseDisklabel(Buffer.alloc(512))).toThrow(ImageFormatError)
    const raw = buildDisklabel({ sliceSectors: 100, partitionOffset: 0, offsetBase: 0 })
    raw.writeUInt16LE(40, 138)
    expect(() => parseDisklabel(raw)).toThrow(/40 partitions/)
    const bad2 = buildDisklabel({ sliceSectors: 100, partitionOffset: 0, offsetBase: 0 })
    bad2.writeUInt32LE(0, 132)
    expect(() => parseDisklabel(bad2)).toThrow(/magic2/)
  })

  it('refuses a partition outside the slice', () => {
    expect(() => buildDisklabel({ sliceSectors: 10, partitionOffset: 16, offsetBase: 0 })).toThrow(RangeError)
  })
})
