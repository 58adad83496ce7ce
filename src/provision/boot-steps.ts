import * as VM from '../xapi/vm.js'
import type { Recipe } from '../recipe/schema.js'
import type { BootMode } from '../recipe/boot.js'
import { need, type Step } from './step-types.js'

/**
 * VM.platform for the recipe: the template's, the boot mode's keys, then the recipe's
 * own (null removes a key). For HVM, platform:secureboot follows boot.secure_boot and a
 * device model that contradicts the firmware is replaced, since XAPI refuses that pair
 * at VM.start (vm_platform.ml sanity_check); a missing one XAPI adds itself at start.
 */
export function platformFor(recipe: Recipe, template: Record<string, string>): Record<string, string> {
  const out = { ...template }
  const boot = recipe.boot
  if (boot.mode === 'hvm') {
    out.secureboot = String(boot.secure_boot)
    if (boot.firmware === 'bios' && out['device-model'] === 'qemu-upstream-uefi') out['device-model'] = 'qemu-upstream-compat'
    if (boot.firmware === 'uefi' && out['device-model'] === 'qemu-trad') out['device-model'] = 'qemu-upstream-uefi'
  }
  if (boot.mode === 'pvh') delete out.secureboot // no firmware, nothing to secure
  for (const [k, v] of Object.entries(recipe.platform)) {
    if (v === null) delete out[k]
    else out[k] = v
  }
  return out
}

const show = (m: Record<string, string>): string =>
  `{${Object.entries(m)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}}`

/** HVM-boot-params for an HVM recipe: firmware and boot order ("c": the uploaded disk first). */
export function hvmBootParams(recipe: Recipe): Record<string, string> {
  return recipe.boot.mode === 'hvm' ? { firmware: recipe.boot.firmware, order: recipe.boot.order } : {}
}

/**
 * The one step that gives a VM its recipe's boot mode: provision runs all three and each
 * skips the modes it is not for; the fleet's golden template runs just this one.
 */
export const BOOT_STEP_ID = { pv: 'vm.pv', hvm: 'vm.hvm', pvh: 'vm.pvh' } as const satisfies Record<BootMode, string>

/** The boot half for `hvm` and `pvh` recipes; `pv` keeps the HOWTO's step (steps.ts vm.pv). */
export const BOOT_STEPS = [
  {
    id: 'vm.hvm',
    title: 'Make it an HVM guest booted by its firmware',
    skip: (c) => c.recipe.boot.mode !== 'hvm',
    calls: (c) =>
      c.recipe.boot.mode !== 'hvm'
        ? []
        : [
            'VM.set_HVM_boot_policy "BIOS order" (XAPI derives domain_type hvm)',
            `VM.set_HVM_boot_params ${show(hvmBootParams(c.recipe))}`,
            "VM.get_platform (the template's, merged with the boot mode's keys and the recipe's)",
            `VM.set_platform ${show(platformFor(c.recipe, c.targets.templatePlatform ?? {}))}`,
            'VM.set_PV_bootloader ""',
            'VM.set_PV_bootloader_args ""',
            'VM.set_PV_args ""',
          ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      // The policy first: on XAPI it also sets domain_type, which the other fields do not touch.
      await VM.set_HVM_boot_policy(c.x, vm, 'BIOS order')
      await Promise.all([
        VM.set_HVM_boot_params(c.x, vm, hvmBootParams(c.recipe)),
        VM.set_platform(c.x, vm, platformFor(c.recipe, await VM.get_platform(c.x, vm))),
        VM.set_PV_bootloader(c.x, vm, ''),
        VM.set_PV_bootloader_args(c.x, vm, ''),
        VM.set_PV_args(c.x, vm, ''),
      ])
    },
  },
  {
    id: 'vm.pvh',
    title: 'Make it a PVH guest booted by pygrub (experimental on XCP-ng)',
    skip: (c) => c.recipe.boot.mode !== 'pvh',
    calls: (c) =>
      c.recipe.boot.mode !== 'pvh'
        ? []
        : [
            'VM.set_HVM_boot_policy ""',
            'VM.set_HVM_boot_params {}',
            'VM.set_domain_type pvh (after the policy, which would reset it to pv)',
            "VM.get_platform (the template's, merged with the boot mode's keys and the recipe's)",
            `VM.set_platform ${show(platformFor(c.recipe, c.targets.templatePlatform ?? {}))}`,
            `VM.set_PV_bootloader "${c.recipe.pv.bootloader}"`,
            `VM.set_PV_bootloader_args "${c.recipe.pv.bootloader_args}"`,
            `VM.set_PV_args "${c.recipe.pv.args}"`,
          ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      // Order matters (xapi_vm.ml): set_HVM_boot_policy derives domain_type, set_domain_type derives the policy.
      await VM.set_HVM_boot_policy(c.x, vm, '')
      await VM.set_HVM_boot_params(c.x, vm, {})
      await VM.set_domain_type(c.x, vm, 'pvh')
      await Promise.all([
        VM.set_platform(c.x, vm, platformFor(c.recipe, await VM.get_platform(c.x, vm))),
        VM.set_PV_bootloader(c.x, vm, c.recipe.pv.bootloader),
        VM.set_PV_bootloader_args(c.x, vm, c.recipe.pv.bootloader_args),
        VM.set_PV_args(c.x, vm, c.recipe.pv.args),
      ])
    },
  },
] as const satisfies readonly Step[]
