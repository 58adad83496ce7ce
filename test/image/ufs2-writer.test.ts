import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { extentsReadAt, extentsToBuffer } from '../../src/image/extents.js'
import { fakeKernel } from '../../src/image/fake-kernel.js'
import { pseudoRandomBytes } from '../../src/image/prng.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { openUfs } from '../../src/image/ufs.js'
import { buildUfs2 } from '../../src/image/ufs1-writer.js'
import { computeUfs1Geometry } from '../../src/image/ufs1-geometry.js'
import { writeExtents } from './helpers/images.js'
import { checkUfs } from './helpers/ufs-check.js'
import { run, runOk, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const MiB = 1024 * 1024
const kernel = fakeKernel(2 * MiB + 777, 9)
const longTarget = '/usr/local/share/' + 'y'.repeat(130) // past UFS2's 120-byte short links
const FILES = {
  '/boot/kernel/kernel': { type: 'file' as const, data: kernel, mode: 0o555 },
  '/boot/loader': { type: 'file' as const, data: pseudoRandomBytes(70_000, 3), mode: 0o555 },
  '/etc/fstab': Buffer.from('/dev/gpt/rootfs / ufs rw 1 1\n'),
  '/etc/short': { type: 'symlink' as const, target: 'fstab' },
  '/etc/long': { type: 'symlink' as const, target: longTarget },
}

describe('UFS2 writer (the UFS1 writer generalised) read back and checked', () => {
  it('lays out UFS2 as newfs -O2 does: superblock at 65536, 256-byte inodes, 64-bit pointers', () => {
    expect(computeUfs1Geometry({ size: 64 * MiB, bsize: 32768, fsize: 4096, version: 2 })).toMatchObject({
      version: 2,
      sblockloc: 65536,
      inodeSize: 256,
      inopb: 128,
      nindir: 4096,
      sblkno: 24,
      cblkno: 32,
      iblkno: 40,
    })
  })

  it('stores files, short and long symlinks; the fsck-like checker finds nothing', () => {
    const size = 64 * MiB
    const img = buildUfs2({ size, bsize: 32768, fsize: 4096, files: FILES })
    const read = extentsReadAt(img.extents)
    const vol = openUfs(read, size)
    expect(vol.sb).toMatchObject({ version: 2, location: 65536, inodeSize: 256 })
    expect(vol.readFile('/boot/kernel/kernel').data.equals(kernel)).toBe(true)
    expect(vol.readFile('/etc/short').data.toString()).toBe('fstab')
    expect(vol.readFile('/etc/long').data.toString()).toBe(longTarget)
    expect(checkUfs(read, size)).toEqual([])
  })

  it('reaches double indirection with 4K blocks (512 64-bit pointers per block)', () => {
    const size = 32 * MiB
    const big = pseudoRandomBytes(3 * MiB, 4) // 12 direct + 512 single-indirect 4K blocks = 2.05 MiB
    const img = buildUfs2({ size, bsize: 4096, fsize: 512, files: { '/big': big } })
    const read = extentsReadAt(img.extents)
    expect(openUfs(read, size).readFile('/big').data.equals(big)).toBe(true)
    expect(checkUfs(read, size)).toEqual([])
  })
})

needs('grub-fstest', 'makefs').describe('UFS2 writer against grub-fstest and makefs', () => {
  const tmp = tempDir('ufs2-oracle-')
  afterAll(tmp.cleanup)

  it("grub-fstest (GRUB's own UFS2 driver) finds every file byte for byte", () => {
    const size = 32 * MiB
    const path = join(tmp.dir, 'ufs2.img')
    writeExtents(path, size, buildUfs2({ size, files: FILES }).extents)
    for (const [p, data] of [
      ['/boot/kernel/kernel', kernel],
      ['/boot/loader', FILES['/boot/loader'].data],
      ['/etc/fstab', FILES['/etc/fstab']],
    ] as const) {
      const local = join(tmp.dir, 'expected.bin')
      writeFileSync(local, data)
      const r = run('grub-fstest', [path, 'cmp', p, local])
      expect(r.stderr, p).toBe('')
      expect(r.status, p).toBe(0)
    }
    expect(run('grub-fstest', [path, 'ls', '/boot']).stdout.trim().split(/\s+/).sort()).toEqual(['kernel/', 'loader'])
  })

  it("writes the format fields makefs -o version=2 writes, and reads makefs's UFS2 the same way", () => {
    const root = join(tmp.dir, 'root')
    mkdirSync(join(root, 'boot/kernel'), { recursive: true })
    writeFileSync(join(root, 'boot/kernel/kernel'), kernel)
    const path = join(tmp.dir, 'makefs.img')
    runOk('makefs', ['-t', 'ffs', '-o', 'version=2,bsize=32768,fsize=4096', '-s', String(32 * MiB), path, root])
    const real = readFileSync(path)
    const theirs = openUfs(bufferReadAt(real), real.length)
    const mine = extentsToBuffer(buildUfs2({ size: real.length, bsize: 32768, fsize: 4096, files: {} }).extents, real.length)
    const ours = openUfs(bufferReadAt(mine), mine.length)
    for (const k of ['version', 'bsize', 'fsize', 'frag', 'fragshift', 'fsbtodb', 'nindir', 'inopb', 'inodeSize', 'maxsymlinklen', 'inodeFormat'] as const) {
      expect(ours.sb[k], k).toBe(theirs.sb[k])
    }
    // Fields every UFS2 superblock has the same (makefs's sits at 8192, ours at 65536).
    const sb = (b: Buffer, at: number, off: number, w: 4 | 8): bigint => (w === 4 ? BigInt(b.readUInt32LE(at + off)) : b.readBigUInt64LE(at + off))
    for (const [field, off, w] of [
      ['bmask', 72, 4],
      ['fmask', 76, 4],
      ['bshift', 80, 4],
      ['fshift', 84, 4],
      ['old_cgoffset', 24, 4],
      ['maxfilesize', 1328, 8],
      ['qbmask', 1336, 8],
      ['qfmask', 1344, 8],
      ['old_inodefmt', 1324, 4],
      ['old_nrpos', 1360, 4],
    ] as const) {
      expect(sb(mine, 65536, off, w), field).toBe(sb(real, theirs.sb.location, off, w))
    }
    expect(theirs.readFile('/boot/kernel/kernel').data.equals(kernel)).toBe(true)
  })
})
