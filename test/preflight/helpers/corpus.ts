/**
 * The preflight's test corpus, built in the test with real tools where it matters:
 * makefs for UFS1 and UFS2, sfdisk for MBR and GPT tables, the project's writer for
 * the sample image, and hand-written FreeBSD labels (no Debian tool writes one the
 * FreeBSD way, see pygrub-ufs.md §1).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildDisklabel } from '../../../src/image/disklabel.js'
import { fakeKernel } from '../../../src/image/fake-kernel.js'
import { GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_UFS } from '../../../src/image/gpt.js'
import { pseudoRandomBytes } from '../../../src/image/prng.js'
import { SAMPLE_FSTAB, SAMPLE_TTYS } from '../../../src/image/sample-image.js'
import { writeSampleImage } from '../../../src/image/write-image.js'
import { runOk } from '../../image/helpers/tools.js'
import { writeExtents } from '../../image/helpers/images.js'

const MiB = 1024 * 1024
const SLICE_LBA = 63
export const KERNEL = fakeKernel(1_500_000, 44)

export interface CorpusImage {
  name: string
  path: string
  /** Byte offset of the root file system (partition a, or the freebsd-ufs partition). */
  root: number
}

export function makefs(dir: string, name: string, options: string, size: number, files: Record<string, Buffer>): Buffer {
  const root = join(dir, `${name}-root`)
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), data)
  }
  const out = join(dir, `${name}.fs`)
  runOk('makefs', ['-t', 'ffs', '-o', options, '-s', String(size), out, root])
  return readFileSync(out)
}

/** sfdisk writes the table into the image file itself, as a person would. */
function sfdisk(path: string, script: string): void {
  runOk('sfdisk', ['--no-reread', '--no-tell-kernel', path], script)
}

/** MBR (sfdisk) with one active FreeBSD slice at LBA 63, a bsdlabel-style label, `fs` in partition a. */
function mbrFreebsd(dir: string, name: string, fs: Buffer, aOffset: number): CorpusImage {
  const path = join(dir, `${name}.img`)
  const sliceSectors = (fs.length + aOffset * 512) / 512
  const size = (SLICE_LBA + sliceSectors) * 512
  const slice = SLICE_LBA * 512
  // The label goes after the fs: with a at 0 it lands in the file system's boot area.
  writeExtents(path, size, [
    { offset: slice + aOffset * 512, data: fs },
    { offset: slice + 512, data: buildDisklabel({ sliceSectors, partitionOffset: aOffset, offsetBase: SLICE_LBA }) },
  ])
  sfdisk(path, `label: dos\nunit: sectors\nstart=${SLICE_LBA}, size=${sliceSectors}, type=a5, bootable\n`)
  return { name, path, root: slice + aOffset * 512 }
}

/** GPT (sfdisk): p1 freebsd-boot holding boot code bytes, p2 freebsd-ufs holding `fs`. */
function gptFreebsd(dir: string, name: string, fs: Buffer): CorpusImage {
  const path = join(dir, `${name}.img`)
  const p2 = 2048
  const size = (p2 + fs.length / 512 + 34) * 512
  writeExtents(path, size, [
    { offset: 40 * 512, data: pseudoRandomBytes(64 * 1024, 5) },
    { offset: p2 * 512, data: fs },
  ])
  sfdisk(path, `label: gpt\nfirst-lba: 34\nstart=40, size=1024, type=${GPT_TYPE_FREEBSD_BOOT}\nstart=${p2}, size=${fs.length / 512}, type=${GPT_TYPE_FREEBSD_UFS}\n`)
  return { name, path, root: p2 * 512 }
}

const GUEST = { '/etc/fstab': Buffer.from(SAMPLE_FSTAB), '/etc/ttys': Buffer.from(SAMPLE_TTYS) }

/** Every image of the corpus, keyed by name. */
export async function buildCorpus(dir: string): Promise<Map<string, CorpusImage>> {
  const withKernel = { ...GUEST, '/boot/kernel/kernel': KERNEL }
  const ufs1 = makefs(dir, 'ufs1', 'version=1,bsize=16384,fsize=2048', 8 * MiB, withKernel)
  const ufs2 = makefs(dir, 'ufs2', 'version=2', 8 * MiB, withKernel)
  const noKernel = makefs(dir, 'nokernel', 'version=1,bsize=16384,fsize=2048', 8 * MiB, GUEST)
  const sample = async (p: 0 | 16): Promise<CorpusImage> => {
    const path = join(dir, `sample-a${p}.img`)
    const layout = await writeSampleImage(path, { diskSize: 16 * MiB, partitionOffsetSectors: p, seed: 4 })
    return { name: `sample-a${p}`, path, root: layout.partitionOffset }
  }
  const garbage = join(dir, 'garbage.img')
  writeFileSync(garbage, pseudoRandomBytes(4 * MiB, 99))
  const all = [
    await sample(0),
    await sample(16),
    mbrFreebsd(dir, 'makefs-ufs1-a0', ufs1, 0),
    mbrFreebsd(dir, 'makefs-ufs1-a16', ufs1, 16),
    mbrFreebsd(dir, 'makefs-ufs2-a0', ufs2, 0),
    mbrFreebsd(dir, 'makefs-nokernel', noKernel, 0),
    gptFreebsd(dir, 'gpt-ufs1', ufs1),
    { name: 'garbage', path: garbage, root: 0 },
  ]
  return new Map(all.map((c) => [c.name, c]))
}
