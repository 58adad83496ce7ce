import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import type { Previous } from './marks.js'

/** HVM-boot-params of a converted guest: BIOS firmware (FreeBSD's boot0/boot1/boot2 and gptboot are BIOS code), disk first. */
export const HVM_PARAMS = { firmware: 'bios', order: 'c' } as const

export const SWITCH_CALLS = [
  'VM.set_HVM_boot_policy "BIOS order" (XAPI derives domain_type hvm)',
  `VM.set_HVM_boot_params {firmware: ${HVM_PARAMS.firmware}, order: ${HVM_PARAMS.order}}`,
  'VM.set_PV_bootloader ""',
  'VM.set_PV_bootloader_args ""',
  'VM.set_PV_args ""',
]

/**
 * The switch to HVM, each call idempotent (re-setting a value is harmless), the policy
 * first since XAPI derives domain_type from it (Xapi_vm_helpers.derive_domain_type),
 * as the project's HVM boot step does (src/provision/boot-steps.ts).
 */
export async function switchToHvm(x: XapiConnection, vm: string): Promise<void> {
  await VM.set_HVM_boot_policy(x, vm, 'BIOS order')
  await VM.set_HVM_boot_params(x, vm, { ...HVM_PARAMS })
  await VM.set_PV_bootloader(x, vm, '')
  await VM.set_PV_bootloader_args(x, vm, '')
  await VM.set_PV_args(x, vm, '')
}

/** Puts the recorded settings back: the policy first (it derives domain_type), then an explicit pv_in_pvh/pvh. */
export async function restoreSettings(x: XapiConnection, vm: string, p: Previous): Promise<void> {
  await VM.set_HVM_boot_policy(x, vm, p.HVM_boot_policy)
  const derived = p.HVM_boot_policy === '' ? 'pv' : 'hvm'
  if (p.domain_type !== derived && p.domain_type !== 'unspecified') await VM.set_domain_type(x, vm, p.domain_type as 'hvm' | 'pv' | 'pvh' | 'pv_in_pvh')
  await VM.set_HVM_boot_params(x, vm, p.HVM_boot_params)
  await VM.set_PV_bootloader(x, vm, p.PV_bootloader)
  await VM.set_PV_bootloader_args(x, vm, p.PV_bootloader_args)
  await VM.set_PV_args(x, vm, p.PV_args)
}
