import { PygrubAbort, pygrubUfsMount } from '../image/pygrub-ufs.js'
import type { ReadAt } from '../image/read-at.js'
import type { Layout } from './layout.js'
import type { Finding, Flavour } from './report.js'
import type { FoundRoot } from './root-fs.js'

export interface FailureContext {
  read: ReadAt
  size: number
  layout: Layout
  found: FoundRoot | null
  kernelPath: string
  /** --kernel and --offset as this flavour's pygrub parsed them. */
  kernelGiven: boolean
  offsetArg: number | undefined
  /** The offsets pygrub tries without --offset, in order. */
  offsets: readonly number[]
  flavour: Flavour
  message: string
}

const REBUILD = 'build the image as the HOWTO does: an MBR slice, bsdlabel, newfs -O1 on partition a, the kernel in /boot/kernel'

/** Says which entry of the table starts at `at`, for messages a person can check with gpart or fdisk. */
export function describeOffset(layout: Layout, at: number): string {
  const entry = layout.table.entries.find((e) => e.start === at)
  if (entry !== undefined) return `byte ${at}, the start of ${layout.table.kind === 'gpt' ? 'GPT partition' : 'slice'} ${entry.index} (${entry.type_name})`
  return at === 0 ? 'byte 0, the start of the disk' : `byte ${at}`
}

const offsetFix = (start: number): string => `add --offset=${start} to PV-bootloader-args (provision --fix-offset does it for you)`

/**
 * Why pygrub fails, in the user's terms. The pygrub emulation gives the verdict; this
 * reads the disk the way FreeBSD does to say what is wrong with it. Every rule that
 * applies is reported, so "UFS2 and partition a at +16" gives both reasons.
 */
export function explainFailure(c: FailureContext): Finding[] {
  const out: Finding[] = []
  if (!c.kernelGiven) {
    out.push({
      code: 'no-kernel-arg',
      message: 'PV-bootloader-args has no --kernel: pygrub then looks for a GRUB or extlinux config, which a FreeBSD disk does not have',
      fix: `add --kernel=${c.kernelPath} to PV-bootloader-args`,
    })
  }
  const root = c.found?.root ?? null
  if (root === null || root.fs === 'none') {
    const where = c.layout.candidates.map((x) => x.where).join('; ') || 'nowhere: the partition table lists no partition'
    out.push({ code: 'no-filesystem', message: `no UFS file system found (looked at ${where})`, fix: REBUILD })
    return out
  }
  if (root.fs === 'UFS2') {
    out.push({
      code: 'ufs2',
      message: `UFS2 in ${root.where}: pygrub reads UFS1 only; rebuild the root with newfs -O1`,
      fix: 'newfs -O1 the root partition (makefs -o version=1), then install FreeBSD on it again',
    })
  }
  if (root.fs_error !== null || root.kernel === 'unreadable') {
    out.push({
      code: 'fs-damaged',
      message: `the ${root.fs} file system in ${root.where} is damaged${root.fs_error === null ? '' : `: ${root.fs_error}`}`,
      fix: 'run fsck_ffs on it, or rebuild the image',
    })
  } else if (root.kernel !== 'present') {
    out.push(kernelFinding(c, root.kernel, root.where))
  }
  if (out.length > 0 || root.fs !== 'UFS1') return out
  out.push(...placement(c, root.start, root.where))
  if (out.length === 0) out.push({ code: 'pygrub', message: `pygrub would fail: ${c.message}`, fix: 'compare with the real pygrub: pygrub -q --kernel=… <image> (see docs/preflight.md)' })
  return out
}

function kernelFinding(c: FailureContext, state: string, where: string): Finding {
  const k = c.kernelPath
  switch (state) {
    case 'missing':
      return { code: 'kernel-missing', message: `no ${k} in ${where}`, fix: `install the kernel there (make installkernel DESTDIR=…), or point --kernel= in PV-bootloader-args at it` }
    case 'symlink':
      return { code: 'kernel-symlink', message: `${k} in ${where} is a symbolic link; pygrub does not follow links`, fix: `give --kernel= the link's target, or replace the link by the file` }
    default:
      return {
        code: 'kernel-not-file',
        message: `${k} in ${where} is a ${state === 'directory' ? 'directory' : 'special file'}, not a kernel`,
        fix: 'point --kernel= in PV-bootloader-args at the kernel file',
      }
  }
}

/** Whether pygrub's ufs plugin mounts at `offset`; a plugin crash counts as no. */
function mounts(c: FailureContext, offset: number): boolean {
  try {
    return pygrubUfsMount(c.read, c.size, offset) !== null
  } catch (e) {
    if (e instanceof PygrubAbort) return false
    throw e
  }
}

/** The root is a good UFS1 with the kernel: then pygrub looked in the wrong place. */
function placement(c: FailureContext, start: number, where: string): Finding[] {
  const tried = c.offsetArg !== undefined ? [c.offsetArg] : c.offsets
  const slice = c.found?.candidate.slice
  if (tried.length === 0) {
    return [
      {
        code: 'table-unreadable',
        message: `pygrub fails while reading the partition table (${c.message}); the root (${where}) is at byte ${start}`,
        fix: `add --offset=${start} to PV-bootloader-args: pygrub then skips the table (provision --fix-offset does it for you)`,
      },
    ]
  }
  if (!tried.includes(start)) {
    if (c.offsetArg !== undefined) {
      return [
        {
          code: 'wrong-offset',
          message: `--offset=${c.offsetArg} in PV-bootloader-args points at ${describeOffset(c.layout, c.offsetArg)}, but the root (${where}) starts at byte ${start}`,
          fix: `replace it by --offset=${start}`,
        },
      ]
    }
    if (slice !== undefined && slice.startInSlice > 0) {
      return [{ code: 'a-offset', message: `partition a starts ${slice.startInSlice} sectors into the slice; pygrub reads only the slice start (byte ${slice.start})`, fix: offsetFix(start) }]
    }
    return [
      {
        code: 'root-not-tried',
        message: `pygrub looks only at ${tried.map((t) => describeOffset(c.layout, t)).join('; ')}; the root (${where}) at byte ${start} is not among them`,
        fix: offsetFix(start),
      },
    ]
  }
  const first = tried[0] ?? 0
  if (c.flavour === 'xcp-ng' && first !== start && !mounts(c, first)) {
    return [
      {
        code: 'xcp-ng-first-offset',
        message: `XCP-ng's pygrub gives up when the first place it looks (${describeOffset(c.layout, first)}) holds no file system; the root (${where}) is at byte ${start}`,
        fix: offsetFix(start),
      },
    ]
  }
  const earlier = tried.slice(0, tried.indexOf(start)).find((t) => mounts(c, t))
  if (earlier !== undefined) {
    return [
      {
        code: 'earlier-filesystem',
        message: `pygrub stops at the first file system it can mount (${describeOffset(c.layout, earlier)}), which has no ${c.kernelPath}; the root (${where}) is at byte ${start}`,
        fix: offsetFix(start),
      },
    ]
  }
  return []
}
