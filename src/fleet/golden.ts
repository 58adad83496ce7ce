import * as VM from '../xapi/vm.js'
import { rollback } from '../provision/rollback.js'
import { settleAll } from '../provision/settle-all.js'
import type { RunState } from '../provision/steps.js'
import type { XapiConnection } from '../xapi/connection.js'
import { TAG } from './inventory.js'
import type { VmPlan } from './planner.js'
import { step, stepContext } from './steps.js'
import { BOOT_STEP_ID } from '../provision/boot-steps.js'

/**
 * Provision's steps that shape a VM without giving it a disk or a NIC: a golden template is
 * exactly these, with `boot` the recipe's boot-mode step (vm.pv, vm.hvm or vm.pvh).
 */
export const TEMPLATE_STEPS = ['vm.install', 'boot', 'vm.other-config', 'vm.memory', 'vm.vcpus'] as const

/**
 * The group's golden template: the recipe's install template put through provision's
 * own install, boot-mode, other-config, memory and VCPU steps once, then marked a template.
 * Each VM is then one VM.clone of it instead of about twenty calls. Its name goes on
 * last, so a template left half-built by a crash is never re-used.
 */
export async function ensureTemplate(x: XapiConnection, fleet: string, first: VmPlan, onStep: (id: string, title: string) => void): Promise<{ ref: string; uuid: string }> {
  const t = first.template!
  if (t.existing) return t.existing
  // A copy a killed rollout left half-built is gone by now: removed with the pool's leftovers (pool-leftovers.ts).
  const state: RunState = { created: [] }
  const ctx = stepContext(x, first, t.spec.groupRecipe, t.name, state)
  try {
    const run = async (id: (typeof TEMPLATE_STEPS)[number]): Promise<void> => {
      const s = step(id === 'boot' ? BOOT_STEP_ID[ctx.recipe.boot.mode] : id)
      onStep(s.id, s.title)
      await s.run(ctx)
    }
    await run('vm.install')
    // The boot fields and other-config are plain fields of the new VM: set beside the memory and
    // VCPU changes, they cost the longest chain's round trips instead of the sum (every
    // rollout waits for this). Memory and VCPUs stay in turn: in XAPI they are VM
    // operations (changing_memory_limits, changing_VCPUs), which exclude each other.
    await settleAll([
      run('boot'),
      run('vm.other-config'),
      (async () => {
        await run('vm.memory')
        await run('vm.vcpus')
      })(),
    ])
    const vm = state.vm!
    // vm.install named it provision's temporary name; its own name goes on last, after the
    // tags and the template flag: a kill anywhere before leaves it under the temporary name,
    // which the next rollout removes (pool-leftovers.ts), never a finished-looking VM.
    const uuid = VM.get_uuid(x, vm)
    uuid.catch(() => undefined) // awaited below; a failure meanwhile is not unhandled
    await settleAll([VM.add_to_other_config(x, vm, TAG.fleet, fleet), VM.add_to_other_config(x, vm, TAG.templateSha256, t.sha256)])
    await VM.set_is_a_template(x, vm, true)
    await VM.set_name_label(x, vm, t.name)
    return { ref: vm, uuid: await uuid }
  } catch (e) {
    await rollback(x, state)
    throw e
  }
}
