import { describe, expect, it } from 'vitest'
import { extentsReadAt } from '../../src/image/extents.js'
import { pseudoRandomBytes } from '../../src/image/prng.js'
import { openUfs } from '../../src/image/ufs.js'
import { computeUfs1Geometry } from '../../src/image/ufs1-geometry.js'
import { buildUfs1, type Ufs1BuildOptions } from '../../src/image/ufs1-writer.js'
import { DT_DIR, DT_LNK, DT_REG } from '../../src/image/ufs-dirent.js'
import { NDADDR } from '../../src/image/ufs-superblock.js'
import { checkUfs } from './helpers/ufs-check.js'

const MiB = 1024 * 1024

function build(opts: Ufs1BuildOptions) {
  const img = buildUfs1(opts)
  const read = extentsReadAt(img.extents)
  return { img, read, vol: openUfs(read, opts.size) }
}

describe('UFS1 geometry', () => {
  it('lays out 64 MiB the way newfs -O1 does (16K/2K, 4 frags per inode, 4 groups)', () => {
    expect(computeUfs1Geometry({ size: 64 * MiB })).toMatchObject({
      bsize: 16384,
      fsize: 2048,
      frag: 8,
      size: 32768,
      ncg: 4,
      fpg: 8200,
      ipg: 2176,
      sblkno: 8,
      cblkno: 16,
      iblkno: 24,
      dblkno: 160,
      nindir: 4096,
      inopb: 128,
      contigsumsize: 8,
    })
  })

  it('supports the other newfs block sizes and refuses bad ones', () => {
    expect(computeUfs1Geometry({ size: 64 * MiB, bsize: 32768, fsize: 4096 })).toMatchObject({ frag: 8, sblkno: 8, iblkno: 24 })
    expect(computeUfs1Geometry({ size: 8 * MiB, bsize: 4096, fsize: 512 })).toMatchObject({ frag: 8, sblkno: 32, cblkno: 48 })
    expect(() => computeUfs1Geometry({ size: 64 * MiB, bsize: 3000 })).toThrow(RangeError)
    expect(() => computeUfs1Geometry({ size: 64 * MiB, bsize: 16384, fsize: 1024 })).toThrow(RangeError)
    expect(() => computeUfs1Geometry({ size: 64 * 1024 })).toThrow(/too small/)
  })
})

describe('UFS1 writer read back by the reader', () => {
  const kernel = pseudoRandomBytes(3 * MiB + 123, 42)

  it('stores files, directories and symlinks with FreeBSD modes, links and d_types', () => {
    const longTarget = '/usr/local/share/' + 'x'.repeat(80)
    const { vol, read, img } = build({
      size: 64 * MiB,
      files: {
        '/boot/kernel/kernel': { type: 'file', data: kernel, mode: 0o555 },
        '/etc/fstab': Buffer.from('/dev/xbd0s1a / ufs rw 1 1\n'),
        '/etc/empty': Buffer.alloc(0),
        '/etc/short': { type: 'symlink', target: 'fstab' },
        '/etc/long': { type: 'symlink', target: longTarget },
        '/tmp': { type: 'dir', mode: 0o1777 },
      },
    })
    const k = vol.readFile('/boot/kernel/kernel')
    expect(k).toMatchObject({ type: 'regular', mode: 0o100555, size: kernel.length, nlink: 1 })
    expect(k.data.equals(kernel)).toBe(true)
    expect(vol.readFile('/etc/fstab')).toMatchObject({ mode: 0o100644, data: Buffer.from('/dev/xbd0s1a / ufs rw 1 1\n') })
    expect(vol.readFile('/etc/empty').size).toBe(0)
    expect(vol.readFile('/etc/short').data.toString()).toBe('fstab')
    expect(vol.readFile('/etc/long').data.toString()).toBe(longTarget)
    expect(vol.readFile('/tmp')).toMatchObject({ type: 'directory', mode: 0o41777, nlink: 2 })
    const root = vol.lookup('/')
    expect(root).toMatchObject({ ino: 2, mode: 0o40755, nlink: 5 }) // ., .. and boot, etc, tmp's ".."
    expect(vol.readDirectory(root).map((e) => [e.name, e.type])).toEqual([
      ['.', DT_DIR],
      ['..', DT_DIR],
      ['boot', DT_DIR],
      ['etc', DT_DIR],
      ['tmp', DT_DIR],
    ])
    expect(vol.readDirectory(vol.lookup('/etc')).map((e) => [e.name, e.type])).toEqual([
      ['.', DT_DIR],
      ['..', DT_DIR],
      ['empty', DT_REG],
      ['fstab', DT_REG],
      ['long', DT_LNK],
      ['short', DT_LNK],
    ])
    expect(img.inodes.get('/boot/kernel/kernel')).toBe(vol.lookup('/boot/kernel/kernel').ino)
    expect(checkUfs(read, 64 * MiB)).toEqual([])
  })

  it('emits sorted, non-overlapping extents, a little more than the data, never the whole size', () => {
    const { img } = build({ size: 64 * MiB, files: { '/boot/kernel/kernel': kernel } })
    let end = 0
    let bytes = 0
    for (const e of img.extents) {
      expect(e.offset).toBeGreaterThanOrEqual(end)
      end = e.offset + e.data.length
      bytes += e.data.length
    }
    expect(bytes).toBeGreaterThan(kernel.length)
    expect(bytes).toBeLessThan(kernel.length + 256 * 1024)
  })

  it('is reproducible: same input, same bytes', () => {
    const a = buildUfs1({ size: 16 * MiB, files: { '/a': Buffer.from('a') } }).extents
    const b = buildUfs1({ size: 16 * MiB, files: { '/a': Buffer.from('a') } }).extents
    expect(Buffer.concat(a.map((e) => e.data)).equals(Buffer.concat(b.map((e) => e.data)))).toBe(true)
  })

  it('uses double indirect blocks with 4K/512 blocks (6 MB file)', () => {
    const big = pseudoRandomBytes(6_000_000, 3)
    const { vol, read } = build({ size: 16 * MiB, bsize: 4096, fsize: 512, files: { '/boot/kernel/kernel': big } })
    const node = vol.lookup('/boot/kernel/kernel')
    expect(node.ib[0]).not.toBe(0)
    expect(node.ib[1]).not.toBe(0) // 12 + 1024 blocks of 4K is 4.25 MB
    expect(vol.readFile('/boot/kernel/kernel').data.equals(big)).toBe(true)
    expect(vol.readRange(node, 5_000_000, 10).equals(big.subarray(5_000_000, 5_000_010))).toBe(true)
    expect(checkUfs(read, 16 * MiB)).toEqual([])
  })

  it('uses triple indirect blocks for a sparse 4.4 GB file, holes reading as zeros', () => {
    const triple = (NDADDR + 1024 + 1024 * 1024) * 4096 // first byte reached through ib[2]
    const size = triple + 100 * MiB
    const chunks = [
      { offset: 0, data: Buffer.from('head') },
      { offset: 3_000_000_000, data: Buffer.from('double') },
      { offset: triple + 12345, data: pseudoRandomBytes(10_000, 9) },
    ]
    const { vol, read } = build({ size: 16 * MiB, bsize: 4096, fsize: 512, files: { '/sparse': { type: 'sparse', size, chunks } } })
    const node = vol.lookup('/sparse')
    expect(node.size).toBe(size)
    expect(node.ib[0]).toBe(0) // nothing between 48 KiB and 4.25 MB: the whole single-indirect tree is a hole
    expect(node.ib[1]).not.toBe(0)
    expect(node.ib[2]).not.toBe(0)
    for (const c of chunks) expect(vol.readRange(node, c.offset, c.data.length).equals(c.data)).toBe(true)
    expect(vol.readRange(node, 1_000_000_000, 4096).equals(Buffer.alloc(4096))).toBe(true)
    expect(vol.blockAddress(node, 500_000)).toBe(0)
    expect(vol.readRange(node, size - 1, 1)).toEqual(Buffer.alloc(1)) // the last block is allocated, zero
    expect(vol.blockAddress(node, Math.ceil(size / 4096) - 1)).not.toBe(0)
    expect(checkUfs(read, 16 * MiB)).toEqual([])
  })

  it('spreads a large directory over several 512-byte chunks and blocks', () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 500; i++) files[`/many/file-with-a-rather-long-name-${String(i).padStart(4, '0')}`] = Buffer.from(String(i))
    const { vol, read } = build({ size: 16 * MiB, files })
    const dir = vol.lookup('/many')
    expect(dir.size % 512).toBe(0)
    expect(dir.size).toBeGreaterThan(16384) // more than one block: a full block then a fragment tail
    const names = vol.readDirectory(dir).map((e) => e.name)
    expect(names).toHaveLength(502)
    expect(vol.readFile('/many/file-with-a-rather-long-name-0499').data.toString()).toBe('499')
    expect(checkUfs(read, 16 * MiB)).toEqual([])
  })

  it('spills into later cylinder groups with 32K/4K blocks', () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 8; i++) {
      // Cheap but position-revealing content: each 4 KiB says which file and offset it is.
      const data = Buffer.alloc(5 * MiB)
      for (let at = 0; at < data.length; at += 4096) data.writeUInt32LE(i * 0x1000000 + at / 4096 + 1, at)
      files[`/data/${i}`] = data
    }
    const { vol, read } = build({ size: 64 * MiB, bsize: 32768, fsize: 4096, files })
    for (let i = 0; i < 8; i++) expect(vol.readFile(`/data/${i}`).data.equals(files[`/data/${i}`] ?? Buffer.alloc(0))).toBe(true)
    expect(checkUfs(read, 64 * MiB)).toEqual([])
  })

  it('refuses trees it cannot store', () => {
    expect(() => buildUfs1({ size: 4 * MiB, files: { '/big': Buffer.alloc(5 * MiB, 1) } })).toThrow(/full/)
    expect(() => buildUfs1({ size: 4 * MiB, files: { relative: Buffer.alloc(1) } })).toThrow(/absolute/)
    expect(() => buildUfs1({ size: 4 * MiB, files: { '/a': Buffer.alloc(1), '/a/b': Buffer.alloc(1) } })).toThrow(/conflicting/)
    expect(() => buildUfs1({ size: 4 * MiB, files: { '/a/b': Buffer.alloc(1), '/a': Buffer.alloc(1) } })).toThrow(/conflicting/)
    const files: Record<string, Buffer> = {}
    const { ncg, ipg } = computeUfs1Geometry({ size: 4 * MiB })
    for (let i = 0; i < ncg * ipg; i++) files[`/f${i}`] = Buffer.alloc(0)
    expect(() => buildUfs1({ size: 4 * MiB, files })).toThrow(/inodes/)
  })
})
