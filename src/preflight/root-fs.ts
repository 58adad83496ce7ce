import { ImageFormatError, ImagePathError } from '../image/errors.js'
import { subReadAt, type ReadAt } from '../image/read-at.js'
import { openUfs, type UfsInode, type UfsVolume } from '../image/ufs.js'
import type { UfsFileType } from '../image/ufs-inode.js'
import { FS_MAGIC_OFFSET, hasUfs1MagicAt8192, SBLOCK_SEARCH, UFS2_MAGIC } from '../image/ufs-superblock.js'
import type { Candidate } from './layout.js'
import type { KernelState, RootFs } from './report.js'

export interface FoundRoot {
  root: RootFs
  /** Open for reading /etc files; null when there is no readable UFS. */
  volume: UfsVolume | null
  candidate: Candidate
}

/** Candidates beyond this are not inspected: a real disk has a handful, a corrupt table thousands. */
const MAX_CANDIDATES = 16

/**
 * Picks the root file system: the first candidate holding a UFS with the kernel, else
 * the first with any UFS, else the first candidate. FreeBSD's readers are used (UFS1
 * and UFS2), not pygrub's, so the report can say what is there even where pygrub is blind.
 */
export function findRoot(read: ReadAt, size: number, candidates: readonly Candidate[], kernelPath: string): FoundRoot | null {
  const seen = candidates.slice(0, MAX_CANDIDATES).map((c) => inspect(read, size, c, kernelPath))
  return seen.find((r) => r.root.fs !== 'none' && r.root.kernel === 'present') ?? seen.find((r) => r.root.fs !== 'none') ?? seen[0] ?? null
}

function inspect(read: ReadAt, size: number, c: Candidate, kernelPath: string): FoundRoot {
  const avail = Math.max(0, Math.min(c.size, size - c.start))
  const part = subReadAt(read, c.start)
  const root: RootFs = { where: c.where, start: c.start, size: c.size, fs: 'none', superblock_at: null, fs_error: null, kernel: 'unreadable', kernel_size: null, kernel_complete: null }
  let volume: UfsVolume
  try {
    volume = openUfs(part, avail)
  } catch (e) {
    if (!(e instanceof ImageFormatError)) throw e
    root.fs = magicOnly(part, avail)
    if (root.fs !== 'none') root.fs_error = e.message
    return { root, volume: null, candidate: c }
  }
  root.fs = volume.sb.version === 1 ? 'UFS1' : 'UFS2'
  root.superblock_at = volume.sb.location
  const k = kernelState(volume, kernelPath)
  root.kernel = k.state
  root.kernel_size = k.node?.size ?? null
  root.kernel_complete = k.node === undefined ? null : allBlocksIn(volume, k.node, avail)
  return { root, volume, candidate: c }
}

/** A superblock whose magic is right but whose fields are not: still worth naming the version. */
function magicOnly(part: ReadAt, avail: number): RootFs['fs'] {
  if (hasUfs1MagicAt8192(part, avail)) return 'UFS1'
  const ufs2 = SBLOCK_SEARCH.some((loc) => loc + FS_MAGIC_OFFSET + 4 <= avail && part(loc + FS_MAGIC_OFFSET, 4).readUInt32LE(0) === UFS2_MAGIC)
  return ufs2 ? 'UFS2' : 'none'
}

const KERNEL_STATE: Record<UfsFileType, KernelState> = { regular: 'present', symlink: 'symlink', directory: 'directory', other: 'not-a-file' }

function kernelState(volume: UfsVolume, path: string): { state: KernelState; node?: UfsInode } {
  try {
    const node = volume.lookup(path)
    return node.type === 'regular' ? { state: 'present', node } : { state: KERNEL_STATE[node.type] }
  } catch (e) {
    if (e instanceof ImagePathError) return { state: 'missing' }
    if (e instanceof ImageFormatError) return { state: 'unreadable' }
    throw e
  }
}

/**
 * Whether every block of a file (and every indirect block on the way) lies inside the
 * image. Only pointers are read, not the data. pygrub reads a block it cannot reach as
 * zeros, so a truncated copy still "boots" into a kernel with holes; this catches it.
 */
function allBlocksIn(volume: UfsVolume, node: UfsInode, avail: number): boolean {
  const { bsize, fsize } = volume.sb
  try {
    for (let lbn = 0; lbn * bsize < node.size; lbn++) {
      const addr = volume.blockAddress(node, lbn)
      if (addr !== 0 && addr * fsize + Math.min(bsize, node.size - lbn * bsize) > avail) return false
    }
    return true
  } catch (e) {
    if (e instanceof ImageFormatError) return false
    throw e
  }
}

/** Reads a small text file from the root, or says why it could not. */
export function readText(volume: UfsVolume, path: string, maxSize = 1024 * 1024): { text: string } | { missing: true } | { error: string } {
  try {
    const f = volume.readFile(path, { maxSize })
    if (f.type !== 'regular') return { error: `${path} is a ${f.type}, not a file` }
    return { text: f.data.toString('utf8') }
  } catch (e) {
    if (e instanceof ImagePathError) return { missing: true }
    if (e instanceof ImageFormatError) return { error: e.message }
    throw e
  }
}
