import { createHash } from 'node:crypto'
import { buildDisklabel } from './disklabel.js'
import { normalizeExtents, shiftExtents, type Extent } from './extents.js'
import { fakeKernel } from './fake-kernel.js'
import { buildMbr, MBR_TYPE_FREEBSD, SECTOR_SIZE } from './mbr.js'
import { buildUfs1 } from './ufs1-writer.js'

export interface SampleImageOptions {
  /** Bytes, default 64 MiB. */
  diskSize?: number
  kernelSize?: number
  /** Where `a` starts in the slice, in sectors: 0 boots with pygrub, 16 (bsdlabel -w's choice) does not. */
  partitionOffsetSectors?: 0 | 16
  seed?: number
}

export interface SampleImageLayout {
  diskSize: number
  /** Byte offset of the FreeBSD slice (MBR entry 1, LBA 63). */
  sliceOffset: number
  /** Byte offset of partition `a` on the disk: the value for pygrub's --offset. */
  partitionOffset: number
  kernelPath: string
  kernelSha256: string
  kernelSize: number
}

const SLICE_LBA = 63
const DEFAULT_DISK = 64 * 1024 * 1024
/** About 3 MiB, and not a whole number of blocks, so the tail path is exercised. */
const DEFAULT_KERNEL = 3 * 1024 * 1024 + 4321
export const SAMPLE_KERNEL_PATH = '/boot/kernel/kernel'

/** From the HOWTO: root on the first partition of the first Xen block device. */
export const SAMPLE_FSTAB = ['# Device                Mountpoint      FStype  Options         Dump    Pass#', '/dev/xbd0s1a            /               ufs     rw              1       1', ''].join(
  '\n',
)

/** A trimmed FreeBSD ttys with the HOWTO's Xen console line switched on. */
export const SAMPLE_TTYS = [
  '#',
  '# name\tgetty\t\t\t\ttype\tstatus\t\tcomments',
  '#',
  'console\tnone\t\t\t\tunknown\toff\tsecure',
  'ttyv0\t"/usr/libexec/getty Pc"\t\txterm\toff\tsecure',
  '',
  '# Xen Console',
  'xc0     "/usr/libexec/getty Pc"         vt100   on  secure',
  '',
].join('\n')

/**
 * The HOWTO's disk: MBR with one active FreeBSD slice at LBA 63, a bsdlabel-style
 * label (absolute offsets) in sector 1 of the slice, and a UFS1 root in `a`.
 */
export function buildSampleImage(opts: SampleImageOptions = {}): { layout: SampleImageLayout; extents: Extent[] } {
  const diskSize = opts.diskSize ?? DEFAULT_DISK
  const partSectors = opts.partitionOffsetSectors ?? 0
  const seed = opts.seed ?? 1
  if (!Number.isSafeInteger(diskSize) || diskSize % SECTOR_SIZE !== 0 || diskSize < 4 * 1024 * 1024) {
    throw new RangeError(`disk size ${diskSize} must be a multiple of ${SECTOR_SIZE} and at least 4 MiB`)
  }
  const sliceSectors = diskSize / SECTOR_SIZE - SLICE_LBA
  const kernel = fakeKernel(opts.kernelSize ?? DEFAULT_KERNEL, seed)
  const fs = buildUfs1({
    size: (sliceSectors - partSectors) * SECTOR_SIZE,
    seed,
    files: {
      [SAMPLE_KERNEL_PATH]: { type: 'file', data: kernel, mode: 0o555 },
      '/etc/fstab': Buffer.from(SAMPLE_FSTAB),
      '/etc/ttys': Buffer.from(SAMPLE_TTYS),
    },
  })
  const sliceOffset = SLICE_LBA * SECTOR_SIZE
  const partitionOffset = sliceOffset + partSectors * SECTOR_SIZE
  const label = buildDisklabel({
    sliceSectors,
    partitionOffset: partSectors,
    offsetBase: SLICE_LBA,
    fsize: fs.geometry.fsize,
    frag: fs.geometry.frag,
  })
  const extents = normalizeExtents(
    [
      { offset: 0, data: buildMbr([{ type: MBR_TYPE_FREEBSD, startLba: SLICE_LBA, sectors: sliceSectors, active: true }]) },
      { offset: sliceOffset + SECTOR_SIZE, data: label },
      ...shiftExtents(fs.extents, partitionOffset),
    ],
    diskSize,
  )
  return {
    layout: {
      diskSize,
      sliceOffset,
      partitionOffset,
      kernelPath: SAMPLE_KERNEL_PATH,
      kernelSha256: createHash('sha256').update(kernel).digest('hex'),
      kernelSize: kernel.length,
    },
    extents,
  }
}
