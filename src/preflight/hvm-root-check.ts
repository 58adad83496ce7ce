import type { Finding } from './report.js'
import type { Firmware, HvmPartition, HvmRoot } from './hvm-report.js'
import { BIOS_LOADER } from './hvm-root.js'

const REBUILD = "use FreeBSD's VM image (or bsdinstall) layout: a freebsd-ufs root holding /boot/loader and /boot/kernel/kernel"

/**
 * What the root must hold for the last steps of the chain: gptboot/boot1 load
 * /boot/loader (BIOS), loader.efi loads the kernel itself (UEFI); both then load the kernel.
 */
export function rootProblems(root: HvmRoot | null, parts: readonly HvmPartition[], firmware: Firmware): { chain: string[]; problems: Finding[] } {
  if (root === null) {
    const seen = parts.map((p) => `${p.where}: ${p.fs === 'none' ? 'nothing recognised' : p.fs}`).join('; ') || 'no partition at all'
    return { chain: [], problems: [{ code: 'no-root', message: `no root file system found (${seen})`, fix: REBUILD }] }
  }
  if (root.fs_error !== null) {
    return { chain: [], problems: [{ code: 'fs-damaged', message: `the ${root.fs} root in ${root.where} is damaged: ${root.fs_error}`, fix: 'run fsck_ffs on it, or rebuild the image' }] }
  }
  if (root.os !== 'freebsd' || root.fs === 'ZFS') return { chain: [`${root.fs} root in ${root.where} (not read: see warnings)`], problems: [] }
  const chain: string[] = []
  const problems: Finding[] = []
  if (firmware === 'bios') {
    if (root.loader === 'present') chain.push(`${BIOS_LOADER} in ${root.where}`)
    else
      problems.push({
        code: 'loader-missing',
        message: `${root.where} has no ${BIOS_LOADER} (${root.loader}): gptboot and boot1 have nothing to start`,
        fix: 'install the boot files there (make installworld installs /boot/loader), or use the official FreeBSD VM image',
      })
  }
  if (root.kernel === 'present') chain.push(`${root.kernel_path} in ${root.where}`)
  else
    problems.push({
      code: 'kernel-missing',
      message: `${root.where} has no ${root.kernel_path} (${root.kernel}): the loader stops at its prompt`,
      fix: 'install the kernel there (make installkernel DESTDIR=…)',
    })
  return { chain, problems }
}
