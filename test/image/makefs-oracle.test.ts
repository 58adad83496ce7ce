import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { extentsToBuffer } from '../../src/image/extents.js'
import { fakeKernel } from '../../src/image/fake-kernel.js'
import { pygrubBoot } from '../../src/image/pygrub.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { openUfs } from '../../src/image/ufs.js'
import { buildUfs1 } from '../../src/image/ufs1-writer.js'
import { checkUfs } from './helpers/ufs-check.js'
import { realPygrub } from './helpers/pygrub-run.js'
import { runOk, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const MiB = 1024 * 1024

/** Superblock fields fixed by the format and the block size alone (not by policy, size or time). */
const FORMAT_FIELDS: [string, number, 4 | 8][] = [
  ['sblkno', 8, 4],
  ['cblkno', 12, 4],
  ['iblkno', 16, 4],
  ['old_cgoffset', 24, 4],
  ['old_cgmask', 28, 4],
  ['bsize', 48, 4],
  ['fsize', 52, 4],
  ['frag', 56, 4],
  ['old_rotdelay', 64, 4],
  ['old_rps', 68, 4],
  ['bmask', 72, 4],
  ['fmask', 76, 4],
  ['bshift', 80, 4],
  ['fshift', 84, 4],
  ['fragshift', 96, 4],
  ['fsbtodb', 100, 4],
  ['sbsize', 104, 4],
  ['nindir', 116, 4],
  ['inopb', 120, 4],
  ['old_nspf', 124, 4],
  ['optim', 128, 4],
  ['old_interleave', 136, 4],
  ['old_trackskew', 140, 4],
  ['old_cpg', 180, 4],
  ['fmod/clean/ronly/old_flags', 208, 4],
  ['maxbsize', 860, 4],
  ['sblockloc', 1000, 8],
  ['flags', 1312, 4],
  ['maxsymlinklen', 1320, 4],
  ['old_inodefmt', 1324, 4],
  ['maxfilesize', 1328, 8],
  ['qbmask', 1336, 8],
  ['qfmask', 1344, 8],
  ['state', 1352, 4],
  ['old_postblformat', 1356, 4],
  ['old_nrpos', 1360, 4],
  ['magic', 1372, 4],
]

needs('makefs').describe('makefs (NetBSD makefs, Debian) as an oracle for the UFS reader and writer', () => {
  const tmp = tempDir('makefs-oracle-')
  afterAll(tmp.cleanup)
  const root = join(tmp.dir, 'root')
  const kernel = fakeKernel(6_000_000, 21)
  const ttys = Buffer.from('xc0     "/usr/libexec/getty Pc"         vt100   on  secure\n')
  mkdirSync(join(root, 'boot/kernel'), { recursive: true })
  mkdirSync(join(root, 'etc'), { recursive: true })
  writeFileSync(join(root, 'boot/kernel/kernel'), kernel)
  writeFileSync(join(root, 'etc/ttys'), ttys)
  symlinkSync('ttys', join(root, 'etc/ttys.link'))

  const makefs = (name: string, options: string, size = 16 * MiB): { path: string; img: Buffer } => {
    const path = join(tmp.dir, name)
    runOk('makefs', ['-t', 'ffs', '-o', options, '-s', String(size), path, root])
    return { path, img: readFileSync(path) }
  }

  it.each([
    ['UFS1 16K/2K', 'version=1,bsize=16384,fsize=2048', 1, 8192],
    ['UFS1 4K/512 (double indirect)', 'version=1,bsize=4096,fsize=512', 1, 8192],
    ['UFS1 32K/4K', 'version=1,bsize=32768,fsize=4096', 1, 8192],
    ['UFS2 (makefs puts its superblock at 8192)', 'version=2', 2, 8192],
  ] as const)('reads %s byte for byte, and finds it consistent', (name, options, version, location) => {
    const { img } = makefs(`${name.replace(/\W+/g, '_')}.img`, options)
    const read = bufferReadAt(img)
    const vol = openUfs(read, img.length)
    expect(vol.sb).toMatchObject({ version, location })
    expect(vol.readFile('/boot/kernel/kernel').data.equals(kernel)).toBe(true)
    expect(vol.readFile('/etc/ttys').data.equals(ttys)).toBe(true)
    expect(vol.readFile('/etc/ttys.link')).toMatchObject({ type: 'symlink', data: Buffer.from('ttys') })
    expect(
      vol
        .readDirectory(vol.lookup('/etc'))
        .map((e) => e.name)
        .sort(),
    ).toEqual(['.', '..', 'ttys', 'ttys.link'])
    expect(checkUfs(read, img.length)).toEqual([])
    const emulated = pygrubBoot(read, img.length, { kernel: '/boot/kernel/kernel', flavour: 'upstream' })
    if (version === 1) expect(emulated.ok && emulated.kernel.equals(kernel)).toBe(true)
    else expect(emulated).toEqual({ ok: false, message: 'Unable to find partition containing kernel' })
  })

  needs('pygrub').it('UFS2 is not bootable by real pygrub either; XCP-ng says no valid filesystem', async () => {
    const { path, img } = makefs('ufs2-pygrub.img', 'version=2')
    const real = await realPygrub(path, tmp.dir, ['--kernel=/boot/kernel/kernel'])
    expect(real.ok ? 'booted' : real.message).toBe('Unable to find partition containing kernel')
    expect(pygrubBoot(bufferReadAt(img), img.length, { kernel: '/boot/kernel/kernel', flavour: 'xcp-ng' })).toEqual({ ok: false, message: 'Bootable disk has no valid filesystem' })
  })

  it.each([
    [16384, 2048],
    [4096, 512],
    [32768, 4096],
  ] as const)('writes the same format fields as makefs for %i/%i blocks', (bsize, fsize) => {
    const real = makefs(`fields-${bsize}.img`, `version=1,bsize=${bsize},fsize=${fsize}`).img
    const mine = extentsToBuffer(buildUfs1({ size: real.length, bsize, fsize, files: {} }).extents, real.length)
    for (const [field, at, width] of FORMAT_FIELDS) {
      const get = (b: Buffer): bigint => (width === 4 ? BigInt(b.readUInt32LE(8192 + at)) : b.readBigUInt64LE(8192 + at))
      expect(get(mine), field).toBe(get(real))
    }
  })
})
