import { ImageFormatError, ImagePathError } from '../image/errors.js'
import { FatVolume } from '../image/fat.js'
import { GPT_TYPE_EFI_SYSTEM } from '../image/gpt.js'
import { machineName, parsePe } from '../image/pe.js'
import { subReadAt, type ReadAt } from '../image/read-at.js'
import type { EspReport, HvmPartition } from './hvm-report.js'
import type { Layout } from './layout.js'

/** The removable-media path: what UEFI boots from a disk when NVRAM has no boot entry, as on a new VM. */
export const EFI_BOOT_PATH = '/EFI/BOOT/BOOTX64.EFI'
const MBR_TYPE_EFI = '0xef'
const MAX_LOADER = 64 * 1024 * 1024

/** Whether the partition table entry starting at `start` is typed as an EFI System Partition. */
export function isTypedEsp(layout: Layout, start: number): boolean {
  const e = layout.table.entries.find((x) => x.start === start)
  return e !== undefined && (e.type === GPT_TYPE_EFI_SYSTEM || e.type === MBR_TYPE_EFI)
}

/**
 * The ESP UEFI would boot from: typed ESPs first, then any other FAT partition (OVMF
 * looks for the removable-media path on every FAT file system of the disk); among
 * them the first holding BOOTX64.EFI, else the first candidate. Null when the disk
 * has neither an ESP nor a FAT partition.
 */
export function inspectEsp(read: ReadAt, size: number, layout: Layout, parts: readonly HvmPartition[]): EspReport | null {
  const typed = parts.filter((p) => isTypedEsp(layout, p.start))
  const fat = parts.filter((p) => !isTypedEsp(layout, p.start) && p.fs.startsWith('FAT'))
  const seen = [...typed, ...fat].map((p) => inspectOne(read, size, p, isTypedEsp(layout, p.start)))
  return seen.find((e) => e.loader === 'present') ?? seen[0] ?? null
}

function inspectOne(read: ReadAt, size: number, p: HvmPartition, typed: boolean): EspReport {
  const avail = Math.max(0, Math.min(p.size, size - p.start))
  const r: EspReport = { where: p.where, start: p.start, size: p.size, typed_esp: typed, fs: p.fs, fs_error: null, loader: 'unreadable', loader_size: null, loader_kind: null, other_loaders: [] }
  let vol: FatVolume
  try {
    vol = FatVolume.open(subReadAt(read, p.start), avail)
  } catch (e) {
    if (!(e instanceof ImageFormatError)) throw e
    r.fs_error = e.message
    return r
  }
  r.fs = `FAT${vol.geometry.type}`
  try {
    const f = vol.readFile(EFI_BOOT_PATH, { maxSize: MAX_LOADER })
    r.loader = 'present'
    r.loader_size = f.size
    const pe = parsePe(f.data)
    r.loader_kind = pe.ok ? `${machineName(pe.info.machine)} ${pe.info.subsystem === 10 ? 'EFI application' : `PE subsystem ${pe.info.subsystem}`}` : pe.reason
  } catch (e) {
    if (e instanceof ImagePathError) r.loader = e.code === 'ENOTDIR' ? 'not-a-file' : 'missing'
    else if (e instanceof ImageFormatError) r.fs_error = e.message
    else throw e
  }
  r.other_loaders = otherLoaders(vol)
  return r
}

/** .EFI files one or two levels under \EFI, e.g. \EFI\FreeBSD\loader.efi or \EFI\BOOT\BOOTAA64.EFI. */
function otherLoaders(vol: FatVolume): string[] {
  const out: string[] = []
  try {
    for (const dir of vol.list('/EFI').filter((e) => e.directory)) {
      for (const f of vol.directory(dir.firstCluster)) {
        const path = `/EFI/${dir.name}/${f.name}`
        if (!f.directory && /\.efi$/i.test(f.name) && path.toUpperCase() !== EFI_BOOT_PATH) out.push(path)
      }
    }
  } catch (e) {
    if (!(e instanceof ImageFormatError || e instanceof ImagePathError)) throw e
  }
  return out.slice(0, 16)
}
