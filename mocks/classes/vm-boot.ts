import { fault } from '../fault.js'
import type { Ctx } from '../context.js'
import { pygrubBoot } from '../../src/image/pygrub.js'
import { parseBootloaderArgs } from '../../src/image/bootloader-args.js'
import { preflightHvm } from '../../src/preflight/hvm.js'
import type { XRecord } from '../datamodel/model.js'
import type { FirmwareBoot } from '../state.js'
import { firmwareOf } from './vm-domain.js'

/**
 * What xenopsd does before building a PV domain with a bootloader: run pygrub on the
 * first bootable disk with PV_bootloader_args split on spaces. A failure is
 * BOOTLOADER_FAILED [vm, <the text after "RuntimeError: " in pygrub's stderr>].
 */
export async function runBootloader(c: Ctx, vm: string): Promise<Buffer | undefined> {
  const rec = c.store.get('VM', vm)
  if (rec.domain_type === 'hvm') {
    // No bootloader in dom0: the firmware in the guest finds (or not) something to boot.
    const boots = c.sim.consoles.get(vm) ?? []
    boots.push(emulateFirmware(c, rec))
    c.sim.consoles.set(vm, boots)
    return undefined
  }
  const bootloader = String(rec.PV_bootloader)
  if (rec.HVM_boot_policy !== '' || bootloader === '' || bootloader === 'eliloader') return undefined
  if (bootloader !== 'pygrub') throw fault('INTERNAL_ERROR', `Bootloader.Unknown_bootloader("${bootloader}")`)
  const args = parseBootloaderArgs(String(rec.PV_bootloader_args), c.sim.pygrub)
  if (!args.ok) throw fault('BOOTLOADER_FAILED', vm, args.message)
  const disk = (rec.VBDs as string[]).map((v) => c.store.get('VBD', v)).find((v) => v.bootable && !v.empty && v.type === 'Disk')
  const data = disk && c.sim.disks.get(String(disk.VDI))
  // xenopsd has no disk to hand pygrub; the simulator words it the way pygrub words a missing file.
  if (!data) throw fault('BOOTLOADER_FAILED', vm, 'No bootable disk: the VM has no bootable VBD with a VDI')
  const result = pygrubBoot((o, n) => data.read(o, n), data.size, {
    ...(args.value.kernel !== undefined ? { kernel: args.value.kernel } : {}),
    ...(args.value.offset !== undefined ? { offset: args.value.offset } : {}),
    flavour: c.sim.pygrub,
  })
  if (!result.ok) throw fault('BOOTLOADER_FAILED', vm, result.message)
  // The kernel goes on to the domain builder (vm-domain.ts), which reads its ELF class.
  return result.kernel
}

/** SeaBIOS's and OVMF's own words, so the console log reads like the VM's console. */
const WORDS = {
  bios: {
    banner: 'SeaBIOS (version rel-1.16.3-Xen)',
    disk: 'Booting from Hard Disk...',
    cd: 'Booting from DVD/CD...',
    net: 'Booting from ROM...',
    failed: (why: string) => `Boot failed: ${why}`,
    none: 'No bootable device.  Retrying in 60 seconds.',
  },
  uefi: {
    banner: 'OVMF (edk2, XCP-ng uefistored)',
    disk: 'BdsDxe: loading Boot0001 "UEFI QEMU HARDDISK" from the first disk',
    cd: 'BdsDxe: loading Boot0002 "UEFI QEMU DVD-ROM"',
    net: 'BdsDxe: loading Boot0003 "UEFI PXEv4"',
    failed: (why: string) => `BdsDxe: failed to load: ${why}`,
    none: 'BdsDxe: No bootable option or device was found.',
  },
} as const

/**
 * What the HVM firmware does after VM.start: walks HVM_boot_params.order (c disk,
 * d CD, n network; xenopsd's default "cd") and boots the first device it can. BIOS
 * (qemu's "-boot c") tries the first hard disk; UEFI every disk. A disk boots when the
 * HVM preflight says this firmware boots it, the same rules check-image applies. As on
 * real Xen, a VM whose firmware finds nothing is still Running; the record says why.
 */
export function emulateFirmware(c: Ctx, rec: Readonly<XRecord>): FirmwareBoot {
  const firmware = firmwareOf(rec)
  const w = WORDS[firmware]
  const order = String((rec.HVM_boot_params as Record<string, string>).order ?? 'cd') || 'cd'
  const vbds = (rec.VBDs as string[]).map((v) => c.store.get('VBD', v)).sort((a, b) => Number(a.userdevice) - Number(b.userdevice))
  const log: string[] = [w.banner]
  const tried: string[] = []
  for (const letter of order) {
    if (letter === 'c') {
      const disks = vbds.filter((v) => v.type === 'Disk' && v.empty !== true)
      for (const vbd of firmware === 'bios' ? disks.slice(0, 1) : disks) {
        const data = c.sim.disks.get(String(vbd.VDI))
        log.push(w.disk)
        if (data === undefined) {
          tried.push(`disk ${String(vbd.userdevice)}: no contents`)
          log.push(w.failed('could not read the disk'))
          continue
        }
        const verdict = preflightHvm((o, n) => data.read(o, n), data.size).verdicts[firmware]
        if (verdict.boots) {
          log.push(...verdict.chain.map((s) => `loaded ${s}`))
          return { firmware, booted: true, device: `disk ${String(vbd.userdevice)}`, chain: verdict.chain, reason: null, log, at: Date.now() }
        }
        const why = verdict.problems[0]?.message ?? 'not bootable'
        tried.push(`disk ${String(vbd.userdevice)}: ${why}`)
        log.push(w.failed(why))
      }
      if (disks.length === 0) tried.push('no disk')
    } else if (letter === 'd') {
      const cd = vbds.find((v) => v.type === 'CD')
      log.push(w.cd)
      const why = cd === undefined ? 'no CD drive' : cd.empty === true ? 'the CD drive is empty' : 'CD boot (El Torito) is not emulated by the simulator'
      tried.push(`CD: ${why}`)
      log.push(w.failed(why))
    } else if (letter === 'n') {
      log.push(w.net)
      tried.push('network: no PXE server on the simulated network')
      log.push(w.failed('no PXE server'))
    }
  }
  log.push(w.none)
  return {
    firmware,
    booted: false,
    device: null,
    chain: [],
    reason: `${firmware === 'bios' ? 'BIOS' : 'UEFI'} found nothing to boot in order "${order}": ${tried.join('; ') || 'no device'}`,
    log,
    at: Date.now(),
  }
}
