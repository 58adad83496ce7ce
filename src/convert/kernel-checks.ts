import { ImageFormatError, ImagePathError } from '../image/errors.js'
import { elfClass } from '../image/elf-class.js'
import type { UfsVolume } from '../image/ufs.js'
import { loaderConf } from '../preflight/guest-files.js'
import { readText } from '../preflight/root-fs.js'
import type { ConvertItem } from './report.js'
import { kernelKind, readKernelElf, type KernelElf, type KernelKind } from './xen-elf.js'

export interface KernelSeen {
  path: string
  kind: KernelKind | 'not-elf'
  elf: KernelElf | null
}

/** Reads only the ELF headers and notes of a kernel file, through the file system. */
export function inspectKernel(volume: UfsVolume, path: string): KernelSeen | null {
  try {
    const node = volume.lookup(path)
    if (node.type !== 'regular') return null
    const elf = readKernelElf((o, n) => volume.readRange(node, o, Math.max(0, Math.min(n, node.size - o))), node.size)
    return { path, kind: elf === null ? 'not-elf' : kernelKind(elf), elf }
  } catch (e) {
    if (e instanceof ImagePathError || e instanceof ImageFormatError) return null
    throw e
  }
}

/** Every /boot/<dir>/kernel: kernel, kernel.old, kernel.GENERIC… the loader can boot any by name. */
function otherKernels(volume: UfsVolume, except: string): KernelSeen[] {
  let dirs: string[]
  try {
    dirs = volume
      .readDirectory(volume.lookup('/boot'))
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => e.name)
  } catch (e) {
    if (e instanceof ImagePathError || e instanceof ImageFormatError) return []
    throw e
  }
  return dirs
    .slice(0, 64)
    .map((d) => `/boot/${d}/kernel`)
    .filter((p) => p !== except)
    .map((p) => inspectKernel(volume, p))
    .filter((k): k is KernelSeen => k !== null)
}

const GUEST_KERNEL_FIX =
  "inside the guest, while it still runs PV: install a GENERIC kernel of the same release and architecture as its world (make installkernel KERNCONF=GENERIC, or the release's kernel.txz) into /boot/kernel, keeping the PV one elsewhere for --undo (e.g. /boot/kernel.xen, with PV-bootloader-args --kernel=/boot/kernel.xen/kernel)"

/**
 * The kernel the BIOS loader boots (loader.conf `kernel`, default "kernel") must have a
 * way in other than Xen's PV entry. When it has none, another kernel under /boot that
 * has one is the fix; otherwise one must be installed in the guest.
 */
export function kernelItems(volume: UfsVolume): ConvertItem[] {
  const conf = readText(volume, '/boot/loader.conf')
  const name = ('text' in conf ? loaderConf(conf.text, 'kernel') : null) ?? 'kernel'
  const path = `/boot/${name}/kernel`
  const k = inspectKernel(volume, path)
  const items: ConvertItem[] = []
  if (k === null) {
    items.push({ id: 'kernel', status: 'blocks', fixed_by: 'guest', message: `no ${path}: the loader has no kernel to boot`, fix: GUEST_KERNEL_FIX })
    return items
  }
  if (k.kind === 'hvm-capable') {
    items.push({ id: 'kernel', status: 'ok', fixed_by: 'nothing', message: `${path} boots under the BIOS loader (${describe(k)})`, fix: '' })
  } else {
    const why =
      k.kind === 'pv-only'
        ? `only runs as a Xen PV guest (${describe(k)}): it has no entry point for the BIOS loader`
        : k.kind === 'not-loadable'
          ? `has no loadable segments (${describe(k)}): no loader can start it; the HOWTO's sample image carries such a stand-in for its PV kernel`
          : 'is not an ELF file'
    const usable = otherKernels(volume, path).filter((o) => o.kind === 'hvm-capable')
    const other = usable[0]
    items.push(
      other === undefined
        ? { id: 'kernel', status: 'blocks', fixed_by: 'guest', message: `${path} ${why}, and /boot holds no other kernel that boots as HVM`, fix: GUEST_KERNEL_FIX }
        : {
            id: 'kernel',
            status: 'blocks',
            fixed_by: 'guest',
            message: `${path} ${why}; ${other.path} boots as HVM`,
            fix: `inside the guest: kernel="${other.path.split('/')[2]}" in /boot/loader.conf (the PV boot is unaffected: pygrub's --kernel names its own file)`,
          },
    )
  }
  items.push(bitsItem(volume, k))
  return items
}

function describe(k: KernelSeen): string {
  if (k.elf === null) return 'not ELF'
  const notes = k.elf.xenGuestSection !== null ? '__xen_guest section' : k.elf.xenNotes.length ? `Xen notes ${k.elf.xenNotes.join(',')}` : 'no Xen notes'
  return `ELF${k.elf.bits} ${k.elf.machine}, ${k.elf.loadSegments} loadable segments, ${notes}`
}

/** 32-bit PV was removed from XCP-ng 8.2 in 2022; a 32-bit HVM guest still runs, its replacement kernel must match its world. */
function bitsItem(volume: UfsVolume, k: KernelSeen): ConvertItem {
  const bits = k.elf?.bits ?? null
  let world: 32 | 64 | null = null
  try {
    const init = volume.lookup('/sbin/init')
    world = init.type === 'regular' ? elfClass(volume.readRange(init, 0, Math.min(64, init.size))) : null
  } catch (e) {
    if (!(e instanceof ImagePathError || e instanceof ImageFormatError)) throw e
  }
  const worldText = world === null ? "no /sbin/init to tell the world's word size" : `world (/sbin/init) ${world}-bit`
  if (bits !== null && world !== null && bits !== world && !(bits === 64 && world === 32)) {
    return {
      id: 'word-size',
      status: 'blocks',
      fixed_by: 'guest',
      message: `kernel ${bits}-bit, ${worldText}: a 32-bit kernel cannot run a 64-bit world`,
      fix: "install a kernel of the world's architecture",
    }
  }
  return {
    id: 'word-size',
    status: 'ok',
    fixed_by: 'nothing',
    message: `kernel ${bits ?? '?'}-bit, ${worldText}; HVM runs 32- and 64-bit guests alike (it is 32-bit PV that XCP-ng removed)`,
    fix: bits === 32 ? 'a replacement kernel must be i386 as well (the world and /boot/loader are 32-bit)' : '',
  }
}
