import { fault } from '../fault.js'
import type { Ctx } from '../context.js'
import { pygrubBoot } from '../../src/image/pygrub.js'

const PYGRUB_OPTIONS = new Set(['--kernel', '--ramdisk', '--args', '--offset', '--entry', '-q', '--quiet', '-n', '--not-really'])

/**
 * What xenopsd does before building a PV domain with a bootloader: run pygrub on the
 * first bootable disk with PV_bootloader_args split on spaces. A failure is
 * BOOTLOADER_FAILED [vm, <the text after "RuntimeError: " in pygrub's stderr>].
 */
export async function runBootloader(c: Ctx, vm: string): Promise<void> {
  const rec = c.store.get('VM', vm)
  const bootloader = String(rec.PV_bootloader)
  if (rec.HVM_boot_policy !== '' || bootloader === '' || bootloader === 'eliloader') return
  if (bootloader !== 'pygrub') throw fault('INTERNAL_ERROR', `Bootloader.Unknown_bootloader("${bootloader}")`)
  let kernel: string | undefined
  let offset: number | undefined
  for (const arg of String(rec.PV_bootloader_args).split(' ').filter(Boolean)) {
    const [name, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, '']
    if (!PYGRUB_OPTIONS.has(name)) throw fault('BOOTLOADER_FAILED', vm, `option ${name} not recognized`)
    if (name === '--kernel') kernel = value
    if (name === '--offset') offset = Number(value)
  }
  const disk = (rec.VBDs as string[])
    .map((v) => c.store.get('VBD', v))
    .find((v) => v.bootable && !v.empty && v.type === 'Disk')
  if (!disk) throw fault('BOOTLOADER_FAILED', vm, 'Disk has no bootable device')
  const data = c.sim.disks.get(String(disk.VDI))
  if (!data) throw fault('BOOTLOADER_FAILED', vm, 'Disk has no bootable device')
  const result = pygrubBoot((o, n) => data.read(o, n), data.size, {
    ...(kernel !== undefined ? { kernel } : {}),
    ...(offset !== undefined ? { offset } : {}),
    flavour: c.sim.pygrub,
  })
  if (!result.ok) throw fault('BOOTLOADER_FAILED', vm, result.message)
}
