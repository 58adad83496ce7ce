/** Disk layouts from pygrub-ufs.md §0, built in code (no makefs), for the emulation and the oracle. */
import { buildDisklabel } from '../../../src/image/disklabel.js'
import { normalizeExtents, shiftExtents, type Extent } from '../../../src/image/extents.js'
import { fakeKernel } from '../../../src/image/fake-kernel.js'
import { GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_UFS } from '../../../src/image/gpt.js'
import { buildGpt } from '../../../src/image/gpt-build.js'
import { buildMbr, MBR_TYPE_FREEBSD, MBR_TYPE_LINUX, MBR_TYPE_SOLARIS_OLD } from '../../../src/image/mbr.js'
import { pseudoRandomBytes } from '../../../src/image/prng.js'
import { buildSampleImage } from '../../../src/image/sample-image.js'
import { buildUfs1 } from '../../../src/image/ufs1-writer.js'
import type { Ufs1Tree } from '../../../src/image/ufs1-tree.js'

export interface TestDisk {
  name: string
  size: number
  extents: Extent[]
}

const MiB = 1024 * 1024
export const KERNEL = fakeKernel(600_000, 11)
const withKernel: Ufs1Tree = { '/boot/kernel/kernel': { type: 'file', data: KERNEL, mode: 0o555 }, '/etc/fstab': Buffer.from('x\n') }

function ufs(size: number, files: Ufs1Tree): Extent[] {
  return buildUfs1({ size, files }).extents
}

function mbrDisk(name: string, size: number, slices: { type: number; lba: number; sectors: number; active?: boolean; content: Extent[] }[]): TestDisk {
  const extents = [{ offset: 0, data: buildMbr(slices.map((s) => ({ type: s.type, startLba: s.lba, sectors: s.sectors, active: s.active }))) }]
  for (const s of slices) extents.push(...shiftExtents(s.content, s.lba * 512))
  return { name, size, extents: normalizeExtents(extents, size) }
}

/** A FreeBSD slice: label in sector 1 and `content` at slice offset `aOffset` sectors. */
function freebsdSlice(sliceLba: number, sectors: number, aOffset: number, content: Extent[]): Extent[] {
  const label = buildDisklabel({ sliceSectors: sectors, partitionOffset: aOffset, offsetBase: sliceLba })
  return [{ offset: 512, data: label }, ...shiftExtents(content, aOffset * 512)]
}

export function testDisks(): TestDisk[] {
  const size = 16 * MiB
  const sliceSectors = size / 512 - 63
  const sample = (p: 0 | 16): TestDisk => ({ name: `sample-a${p}`, size, ...buildSampleImage({ diskSize: size, partitionOffsetSectors: p, kernelSize: KERNEL.length, seed: 11 }) })
  const half = Math.floor(sliceSectors / 2)
  return [
    sample(0),
    sample(16),
    { name: 'raw-ufs1', size, extents: ufs(size, withKernel) },
    { name: 'raw-ufs1-nokernel', size, extents: ufs(size, { '/etc/fstab': Buffer.from('x\n') }) },
    { name: 'raw-ufs1-kernel-symlink', size, extents: ufs(size, { '/boot/kernel/kernel': { type: 'symlink', target: 'kernel.real' }, '/boot/kernel/kernel.real': KERNEL }) },
    { name: 'raw-ufs1-kernel-is-dir', size, extents: ufs(size, { '/boot/kernel/kernel/x': KERNEL }) },
    { name: 'garbage', size: 4 * MiB, extents: [{ offset: 0, data: pseudoRandomBytes(4 * MiB, 99) }] },
    mbrDisk('garbage-fs', size, [
      { type: MBR_TYPE_FREEBSD, lba: 63, sectors: sliceSectors, active: true, content: freebsdSlice(63, sliceSectors, 0, [{ offset: 8192, data: pseudoRandomBytes(2 * MiB, 7) }]) },
    ]),
    mbrDisk('two-slices', size, [
      { type: MBR_TYPE_LINUX, lba: 63, sectors: half, content: ufs(half * 512, { '/etc/fstab': Buffer.from('x\n') }) },
      { type: MBR_TYPE_FREEBSD, lba: 63 + half, sectors: sliceSectors - half, active: true, content: freebsdSlice(63 + half, sliceSectors - half, 0, ufs((sliceSectors - half) * 512, withKernel)) },
    ]),
    mbrDisk('swap-then-freebsd', size, [
      { type: MBR_TYPE_SOLARIS_OLD, lba: 63, sectors: half, content: [] }, // Linux swap: pygrub looks for a VTOC, finds none
      { type: MBR_TYPE_FREEBSD, lba: 63 + half, sectors: sliceSectors - half, active: true, content: freebsdSlice(63 + half, sliceSectors - half, 0, ufs((sliceSectors - half) * 512, withKernel)) },
    ]),
    gptDisk(size),
    { name: 'raw-ufs1-xenkernel', size, extents: ufs(size, { ...withKernel, '/xenkernel': Buffer.from('\x7fELF xen kernel') }) },
  ]
}

/** GPT: p1 freebsd-boot (gptboot-sized, not a file system), p2 freebsd-ufs holding UFS1. */
function gptDisk(size: number): TestDisk {
  const lastUsable = size / 512 - 34
  const p2 = { start: 2048, end: lastUsable }
  return {
    name: 'gpt-boot-then-ufs1',
    size,
    extents: normalizeExtents(
      [
        ...buildGpt(size, '0D5C58D4-2D77-4C3A-9E0C-3C8C0D4A6F01', [
          { typeGuid: GPT_TYPE_FREEBSD_BOOT, uniqueGuid: '6A1F1B8B-4C77-4E51-8F5B-3E46C0B1A001', startLba: 40, endLba: 1063, name: 'gptboot' },
          { typeGuid: GPT_TYPE_FREEBSD_UFS, uniqueGuid: '6A1F1B8B-4C77-4E51-8F5B-3E46C0B1A002', startLba: p2.start, endLba: p2.end, name: 'rootfs' },
        ]),
        { offset: 40 * 512, data: pseudoRandomBytes(64 * 1024, 3) },
        ...shiftExtents(ufs((p2.end - p2.start + 1) * 512, withKernel), p2.start * 512),
      ],
      size,
    ),
  }
}
