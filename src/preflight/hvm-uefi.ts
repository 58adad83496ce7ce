import { EFI_BOOT_PATH } from './hvm-esp.js'
import type { EspReport, FirmwareVerdict, HvmPartition, HvmRoot } from './hvm-report.js'
import { rootProblems } from './hvm-root-check.js'
import type { Finding } from './report.js'

const MAKE_ESP = 'gpart add -t efi -s 33m ada0; newfs_msdos -F 32 -c 1 /dev/ada0pN; copy /boot/loader.efi to /EFI/BOOT/BOOTX64.EFI on it (or use the official FreeBSD VM image)'
const X64_APP = 'x64 EFI application'

/**
 * What OVMF (XCP-ng's UEFI) does with a disk on a VM whose NVRAM is new: no boot entry
 * exists yet, so it boots the removable-media path \EFI\BOOT\BOOTX64.EFI from a FAT file
 * system on the disk, and only an x64 EFI application. FreeBSD's loader.efi there then
 * loads the kernel from the first freebsd-ufs partition.
 */
export function uefiVerdict(esp: EspReport | null, parts: readonly HvmPartition[], root: HvmRoot | null): FirmwareVerdict {
  const fail = (chain: string[], p: Finding): FirmwareVerdict => ({ firmware: 'uefi', boots: false, chain, problems: [p] })
  if (esp === null) {
    return fail([], { code: 'no-esp', message: 'no EFI System Partition (GPT type efi, MBR type 0xef) and no other FAT partition: UEFI has nothing to boot', fix: MAKE_ESP })
  }
  const where = `the ESP (${esp.where})`
  if (esp.fs_error !== null) {
    return fail([], {
      code: 'esp-damaged',
      message: `${where} holds no readable FAT file system: ${esp.fs_error}`,
      fix: `recreate it: newfs_msdos -F 32 -c 1 on the partition, then copy /boot/loader.efi to ${EFI_BOOT_PATH}`,
    })
  }
  if (esp.loader !== 'present') {
    const others =
      esp.other_loaders.length === 0
        ? ''
        : `; ${esp.other_loaders.join(', ')} ${esp.other_loaders.length === 1 ? 'is' : 'are'} there, but a new VM's NVRAM has no boot entry for ${esp.other_loaders.length === 1 ? 'it' : 'them'}`
    const copy = esp.other_loaders.find((p) => /loader\.efi$/i.test(p)) ?? '/boot/loader.efi'
    return fail([], { code: 'no-efi-loader', message: `${where} (${esp.fs}) has no ${EFI_BOOT_PATH}${others}`, fix: `copy ${copy} to ${EFI_BOOT_PATH} on the ESP` })
  }
  if (esp.loader_kind !== X64_APP) {
    return fail([], {
      code: 'efi-loader-not-x64',
      message: `${EFI_BOOT_PATH} in ${where} is not an ${X64_APP} (${esp.loader_kind ?? 'unknown'}): OVMF refuses to run it`,
      fix: 'copy the amd64 /boot/loader.efi there',
    })
  }
  const chain = [`${EFI_BOOT_PATH} in ${where}`]
  const r = rootProblems(root, parts, 'uefi')
  return { firmware: 'uefi', boots: r.problems.length === 0, chain: [...chain, ...r.chain], problems: r.problems }
}
