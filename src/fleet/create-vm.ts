import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'
import { vdiName, type RunState, type StepId } from '../provision/steps.js'
import { buildingName, INCOMPLETE_KEY } from '../provision/leftovers.js'
import type { XapiConnection } from '../xapi/connection.js'
import { TAG } from './inventory.js'
import type { Limits } from './limiter.js'
import type { VmPlan } from './planner.js'
import { step, stepContext } from './steps.js'
import { recordSettings } from '../provision/update-vm.js'
import { SETTINGS_KEY } from '../provision/settings.js'
import type { FirstBoot } from '../provision/first-boot.js'
import type { Ready } from '../wait/watch.js'
import { ADDRESS_KEY } from './address-pool.js'

/**
 * Provision's last steps, run as they are on the cloned VM and disk: the VIF, the disk,
 * the config drive and xenstore keys (each skipped without cloud_init or xenstore), start.
 */
const FINAL_STEPS = ['vif.create', 'vbd.create', 'drive.create', 'drive.attach', 'vm.xenstore', 'vm.start'] as const
/** After start: the wait for the guest, and the drive's removal (remove_after: ready). */
const READY_STEPS = ['wait', 'drive.remove'] as const

export interface CreateInput {
  x: XapiConnection
  fleet: string
  plan: VmPlan
  base: string
  /** The base's other_config: the clone gets a copy of it (as VDI.clone gives) plus its own tags. */
  baseConfig: Record<string, string>
  template: string
  /** Serialises clones of one base VDI: any operation on a VDI excludes every other (xapi_vdi.ml). */
  limits: Limits
  /** Pools of several hosts get an affinity, so a VM on a shared SR starts where it was planned. */
  multiHost: boolean
  onStep: (id: string, title: string) => void
  /** The drive's user data, the wait, {index} and {ip} (first-boot.ts); absent: no drive, no wait. */
  firstBoot?: FirstBoot
  /**
   * Gives the VM's host and total slots back once it is started: waiting for a guest
   * makes no XAPI work, so the next VM of the wave need not wait for this one's boot.
   */
  releaseSlots?: () => void
}

/**
 * One VM from the base VDI and the golden template: clone both, tag both, apply this
 * VM's overrides, then provision's VIF, VBD and start steps, then its real name.
 * Everything created goes into `state.created`, newest last, for rollback on failure.
 */
export async function createVm(c: CreateInput, state: RunState): Promise<{ ref: string; uuid: string; ready?: Ready | undefined }> {
  const { x, plan: v } = c
  const name = v.spec.name
  const r = v.spec.recipe
  const g = v.spec.groupRecipe
  c.onStep('disk', 'Clone the base disk')
  const vdi = await c.limits.get(`clone:${c.base}`, 1).run(() => VDI.clone(x, c.base))
  state.vdi = vdi
  state.created.push({ cls: 'VDI', ref: vdi, label: vdiName(r, name) })
  // First thing after the clone, in one call: its VM, its fleet, and the incomplete mark that
  // lets the next rollout remove it if this one dies before the VM has its real name. A kill
  // before this call leaves a clone that carries its base's uuid, never its own (pool-leftovers.ts).
  await VDI.set_other_config(x, vdi, { ...c.baseConfig, [TAG.vm]: name, [TAG.fleet]: c.fleet, [INCOMPLETE_KEY]: 'true' })
  await VDI.set_name_label(x, vdi, vdiName(r, name))

  c.onStep('vm', 'Clone the golden template')
  // No lock here: XAPI lets clones of one VM or template overlap (is_allowed_concurrently).
  // Provision's temporary name until the end, so a killed run leaves a recognisable VM.
  const vm = await VM.clone_sync(x, c.template, buildingName(name))
  state.vm = vm
  state.created.push({ cls: 'VM', ref: vm, label: name })
  await VM.set_is_a_template(x, vm, false)
  await VM.add_to_other_config(x, vm, TAG.vm, name)
  // Recorded from the start, so a re-run after a kill gives this name the same address back (addresses.ts).
  if (v.address) await VM.add_to_other_config(x, vm, ADDRESS_KEY, v.address)

  const ctx = stepContext(x, v, r, name, state, undefined, undefined, undefined, c.firstBoot)
  const mem = (m: typeof r.memory): string => JSON.stringify([m.static_min, m.static_max, m.dynamic_min, m.dynamic_max])
  if (mem(r.memory) !== mem(g.memory)) await runStep('vm.memory')
  if (r.vcpus !== g.vcpus) await runStep('vm.vcpus')
  if (r.pv.args !== g.pv.args) await VM.set_PV_args(x, vm, r.pv.args)
  // The template's record of its settings came with the clone; a VM with its own overrides (or
  // from a template older than the record) gets its own, so the next run tells intent from drift.
  await recordSettings(x, vm, r, v.template?.settings ? { [SETTINGS_KEY]: v.template.settings } : {})
  if (c.multiHost && v.host) await VM.set_affinity(x, vm, v.host.ref)
  for (const id of FINAL_STEPS) await runStep(id)
  // Only a VM that waits gives its slots back early: one that does not is done in two calls.
  if (r.start && c.firstBoot?.probes.length) c.releaseSlots?.()
  for (const id of READY_STEPS) await runStep(id)
  c.onStep('vm.finish', 'Name the VM')
  // Mark off first, real name second: a kill in between leaves a VM under the temporary name
  // with its disk attached, and both go as leftovers. Never the other way round: a disk still
  // marked after its VM was finished would be taken for a leftover once that VM is destroyed by hand.
  await VDI.remove_from_other_config(x, vdi, INCOMPLETE_KEY)
  await VM.set_name_label(x, vm, name)
  // The drive's incomplete mark goes after the name, as in provision (first-boot-steps.ts).
  await runStep('drive.finish')
  // One small call per new VM rather than re-reading every VM of the pool at the end.
  return { ref: vm, uuid: await VM.get_uuid(x, vm), ready: state.ready }

  async function runStep(id: StepId): Promise<void> {
    const s = step(id)
    if (s.skip?.(ctx)) return
    c.onStep(s.id, s.title)
    await s.run(ctx)
  }
}
