import { fault } from '../fault.js'
import type { Ctx } from '../context.js'
import { pygrubBoot } from '../../src/image/pygrub.js'
import { parseBootloaderArgs } from '../../src/image/bootloader-args.js'

/**
 * What xenopsd does before building a PV domain with a bootloader: run pygrub on the
 * first bootable disk with PV_bootloader_args split on spaces. A failure is
 * BOOTLOADER_FAILED [vm, <the text after "RuntimeError: " in pygrub's stderr>].
 */
export async function runBootloader(c: Ctx, vm: string): Promise<Buffer | undefined> {
  const rec = c.store.get('VM', vm)
  const bootloader = String(rec.PV_bootloader)
  if (rec.HVM_boot_policy !== '' || bootloader === '' || bootloader === 'eliloader') return undefined
  if (bootloader !== 'pygrub') throw fault('INTERNAL_ERROR', `Bootloader.Unknown_bootloader("${bootloader}")`)
  const args = parseBootloaderArgs(String(rec.PV_bootloader_args), c.sim.pygrub)
  if (!args.ok) throw fault('BOOTLOADER_FAILED', vm, args.message)
  const disk = (rec.VBDs as string[])
    .map((v) => c.store.get('VBD', v))
    .find((v) => v.bootable && !v.empty && v.type === 'Disk')
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
