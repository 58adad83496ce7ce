import { pygrubPartitionOffsets } from './pygrub-partitions.js'
import { PygrubAbort, pygrubUfsMount, type PygrubUfs } from './pygrub-ufs.js'
import type { ReadAt } from './read-at.js'

export type PygrubFlavour = 'upstream' | 'xcp-ng'

export interface PygrubBootOptions {
  /** --kernel; an empty string counts as absent, as in pygrub. */
  kernel?: string
  /** --offset in bytes: replaces the partition search with this one offset. */
  offset?: number
  flavour: PygrubFlavour
}

/** On success, `path` is the kernel pygrub chose and `sizeLo` the size its inode claims (`kernel` is shorter when the image ends inside it). */
export type PygrubBootResult =
  | { ok: true; offset: number; path: string; sizeLo: number; kernel: Buffer }
  /** `aborted`: real pygrub would crash or hang here (or the emulation stops at one of its limits). */
  | { ok: false; message: string; aborted?: true }

/** Config files pygrub's Grub class looks for; their parsing is not emulated. */
const GRUB_CONFIGS = [
  '/boot/grub/grub.cfg',
  '/grub/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/grub2/grub.cfg',
  '/boot/isolinux/isolinux.cfg',
  '/boot/extlinux/extlinux.conf',
  '/boot/extlinux.conf',
  '/extlinux/extlinux.conf',
  '/extlinux.conf',
  '/boot/grub/menu.lst',
  '/boot/grub/grub.conf',
  '/grub/menu.lst',
  '/grub/grub.conf',
]

/**
 * What pygrub does with a disk when asked for a kernel (pygrub-ufs.md §2 and §5),
 * with libxenfsimage's ufs plugin as the only file-system plugin. `message` is the
 * text pygrub ends with. 'xcp-ng' adds XCP-ng's patches: the first offset must mount
 * ("friendly-no-fs"), and /xenkernel or /boot/xenkernel there wins ("always-boot-default").
 */
export function pygrubBoot(read: ReadAt, size: number, opts: PygrubBootOptions): PygrubBootResult {
  try {
    return boot(read, size, opts)
  } catch (e) {
    if (e instanceof PygrubAbort) return { ok: false, message: e.message, aborted: true }
    throw e
  }
}

function boot(read: ReadAt, size: number, opts: PygrubBootOptions): PygrubBootResult {
  let kernel = opts.kernel === '' ? undefined : opts.kernel
  let offsets: number[]
  if (opts.offset !== undefined) offsets = [opts.offset]
  else {
    const found = pygrubPartitionOffsets(read, size)
    if (!found.ok) return found
    offsets = found.offsets
  }
  const mount = (offset: number): PygrubUfs | null => pygrubUfsMount(read, size, offset)

  if (opts.flavour === 'xcp-ng') {
    const first = mount(offsets[0] ?? 0)
    if (first === null) {
      // friendly-no-fs turns the IOError into this message only for a bare disk.
      return offsets.length === 1 && offsets[0] === 0 ? { ok: false, message: 'Bootable disk has no valid filesystem' } : { ok: false, message: '[Errno 95] Operation not supported' }
    }
    for (const k of ['/xenkernel', '/boot/xenkernel']) {
      if (first.open(k) !== null) {
        kernel = k
        break
      }
    }
  }

  for (const offset of offsets) {
    const fs = mount(offset)
    if (fs === null) continue // every plugin failed: pygrub moves on silently
    let chosen = kernel
    if (chosen === undefined && fs.open('/nwserver/xnloader.sys') !== null) chosen = '/nwserver/xnloader.sys'
    if (chosen === undefined) {
      const cfg = GRUB_CONFIGS.find((c) => fs.open(c) !== null)
      if (cfg === undefined) continue // RuntimeError("couldn't find bootloader config file"), swallowed
      return { ok: false, message: `${cfg} found: parsing GRUB/extlinux configs is not emulated; pass --kernel` }
    }
    // With a kernel chosen, this offset is used even if the file is not there.
    const file = fs.open(chosen)
    if (file === null) return { ok: false, message: `Error opening ${chosen} in guest` }
    return { ok: true, offset, path: chosen, sizeLo: file.sizeLo, kernel: file.read() }
  }
  return { ok: false, message: 'Unable to find partition containing kernel' }
}
