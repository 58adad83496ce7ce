import { ImageFormatError, ImagePathError } from '../image/errors.js'
import { subReadAt, type ReadAt } from '../image/read-at.js'
import type { UfsVolume } from '../image/ufs.js'
import { identifyFs } from './hvm-fs.js'
import type { FileState, FsKind, HvmPartition, HvmRoot } from './hvm-report.js'
import type { Layout } from './layout.js'
import { findRoot } from './root-fs.js'

/** Candidates beyond this are not inspected: a real disk has a handful, a corrupt table thousands. */
const MAX_PARTS = 16
export const BIOS_LOADER = '/boot/loader'
const LINUX_FS: readonly FsKind[] = ['ext4', 'XFS', 'btrfs']

/** Every place the layout lists, with the file system its magic numbers name. */
export function identifyPartitions(read: ReadAt, size: number, layout: Layout): HvmPartition[] {
  return layout.candidates.slice(0, MAX_PARTS).map((c) => {
    const avail = Math.max(0, Math.min(c.size, size - c.start))
    return { where: c.where, start: c.start, size: c.size, fs: identifyFs(subReadAt(read, c.start), avail) }
  })
}

export interface HvmRootFound {
  root: HvmRoot
  /** Open for reading /etc files; null when the root is not a readable UFS. */
  volume: UfsVolume | null
}

/**
 * The root file system as FreeBSD's boot blocks and loader find it: the first UFS
 * with the kernel (gptboot and loader.efi take the first freebsd-ufs partition, boot1
 * partition a), else a ZFS pool (reported, not read), else a Linux root (ext4, XFS or
 * btrfs: recognised, not read: GRUB's config decides what it loads).
 */
export function findHvmRoot(read: ReadAt, size: number, layout: Layout, parts: readonly HvmPartition[], kernelPath: string): HvmRootFound | null {
  const ufs = findRoot(
    read,
    size,
    layout.candidates.filter((c) => parts.some((p) => p.start === c.start && p.fs.startsWith('UFS'))),
    kernelPath,
  )
  if (ufs !== null && ufs.root.fs !== 'none') {
    const r = ufs.root
    const root: HvmRoot = {
      where: r.where,
      start: r.start,
      size: r.size,
      fs: r.fs,
      os: 'freebsd',
      fs_error: r.fs_error,
      loader: ufs.volume === null ? 'unreadable' : fileState(ufs.volume, BIOS_LOADER),
      kernel: r.kernel === 'present' ? 'present' : r.kernel === 'missing' ? 'missing' : r.kernel === 'unreadable' ? 'unreadable' : 'not-a-file',
      kernel_path: kernelPath,
    }
    return { root, volume: ufs.volume }
  }
  const other = parts.find((p) => p.fs === 'ZFS') ?? parts.find((p) => LINUX_FS.includes(p.fs))
  if (other === undefined) return null
  const os = other.fs === 'ZFS' ? 'freebsd' : 'linux'
  return {
    root: { where: other.where, start: other.start, size: other.size, fs: other.fs, os, fs_error: null, loader: 'unchecked', kernel: 'unchecked', kernel_path: kernelPath },
    volume: null,
  }
}

function fileState(volume: UfsVolume, path: string): FileState {
  try {
    return volume.lookup(path).type === 'regular' ? 'present' : 'not-a-file'
  } catch (e) {
    if (e instanceof ImagePathError) return 'missing'
    if (e instanceof ImageFormatError) return 'unreadable'
    throw e
  }
}
