import { z } from 'zod'
import type { XapiConnection } from '../xapi/connection.js'
import * as VIF from '../xapi/vif.js'
import * as network from '../xapi/network.js'
import type { Recipe } from '../recipe/schema.js'
import { UserError } from '../errors.js'
import { compareSettings, isDisruptive, NEEDS_HALT, NEEDS_REPLACE, SettingDiff } from './settings.js'
import { destroyPlanOf, destroyVm, findVm, isOurVm, type DestroyPlan, type NamedVm } from './destroy.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import { requireConsent, type Confirm } from './consent.js'
import { updateVm } from './update-vm.js'

/** `provision` of a recipe whose VM is already there (made by the tool): what it found and did. */
export const ExistingResult = z.object({
  existing: z.literal(true),
  dry_run: z.boolean(),
  vm: z.object({ uuid: z.string(), name: z.string(), power_state: z.string() }),
  /** `none`: the VM is as the recipe asks; `update`/`reconcile`: changed in place; `drift`: differs on the pool only, left as is. */
  action: z.enum(['none', 'update', 'reconcile', 'drift']),
  /** The change halts the running VM (it is started again). */
  disruptive: z.boolean(),
  drift: z.array(SettingDiff),
  state: z.enum(['planned', 'unchanged', 'updated', 'reconciled', 'drift']),
})
export type ExistingResult = z.infer<typeof ExistingResult>

export interface ExistingOptions {
  recipe: Recipe
  vmName: string
  dryRun: boolean
  reconcile: boolean
  replace: boolean
  yes?: boolean | undefined
  confirm?: Confirm | undefined
  onStep: (id: string, title: string) => void
  /** What the run already read: the VMs of this name (readVmsNamed) and every VDI; read here when absent. */
  named?: readonly NamedVm[]
  vdis?: Record<string, VdiDetailRecord>
}

/**
 * What provision does when the VM's name is taken, like Ansible's `state: present`: a VM the
 * tool made is compared with the recipe (provision's and the fleet's one comparison); the
 * same → said so, nothing changed; the recipe changed → applied in place (drift only with
 * --reconcile), with consent when that halts the VM; --replace, or a boot mode change with
 * it, destroys the VM and the disks the tool made so the run makes it anew. Returns
 * undefined when there is nothing of the tool's under that name (a VM someone else made
 * stays the name-taken error of lookup.ts).
 */
export async function handleExisting(x: XapiConnection, o: ExistingOptions): Promise<ExistingResult | { replacing: DestroyPlan; removed: string[] } | undefined> {
  const found = await findVm(x, o.vmName, { named: o.named, vdis: o.vdis })
  if (
    !found ||
    !isOurVm(
      found.record,
      found.disks.map(([, d]) => d),
    )
  )
    return undefined
  const { ref, record } = found
  const vifs = await VIF.get_all_records(x)
  const drift = compareSettings(
    record,
    record.VIFs.map((r) => vifs[r]).filter((v) => v !== undefined),
    o.recipe,
  )
  const changes = drift.filter((d) => d.kind === 'change' || o.reconcile)
  const stuck = changes.find((d) => NEEDS_REPLACE.has(d.field))
  if (o.replace) {
    const plan = destroyPlanOf(ref, record, found.disks)
    if (o.dryRun) return { replacing: plan, removed: [] }
    const disks = plan.disks.map((d) => d.name_label).join(', ') || 'no disk of its own'
    await requireConsent([`${o.vmName} (${record.uuid}) is destroyed with ${disks} and made anew`], o, 'provision <recipe> … --replace')
    return { replacing: plan, removed: await destroyVm(x, plan, o.onStep) }
  }
  if (stuck) {
    throw new UserError({
      what: `${o.vmName} boots as ${stuck.have}, the recipe asks for ${stuck.want}: a boot mode does not change in place`,
      why: `its disk was made from an image for ${stuck.have}; switching the mode in place would leave a VM that does not boot`,
      fix: `run again with --replace to destroy it and its disk and make it anew (its data is lost)${stuck.have === 'pv' ? `, or provision convert ${o.vmName}` : ''}; nothing was changed`,
    })
  }
  const vm = { uuid: record.uuid, name: o.vmName, power_state: record.power_state }
  const action: ExistingResult['action'] = changes.length === 0 ? (drift.length ? 'drift' : 'none') : changes.some((d) => d.kind === 'change') ? 'update' : 'reconcile'
  const disruptive = isDisruptive(changes, record.power_state)
  const result = { existing: true as const, dry_run: o.dryRun, vm, action, disruptive, drift }
  if (o.dryRun) return { ...result, state: 'planned' }
  if (action === 'none' || action === 'drift') return { ...result, state: action === 'none' ? 'unchanged' : 'drift' }
  const halts = changes.filter((c) => NEEDS_HALT.has(c.field)).map((c) => c.field)
  if (disruptive) await requireConsent([`${o.vmName} is ${record.power_state.toLowerCase()}: shut down and started again to change ${halts.join(', ')}`], o, 'provision <recipe> …')
  const networks = changes.some((c) => c.field === 'MAC') ? await network.get_all_records(x) : {}
  await updateVm(x, { ref, record, recipe: o.recipe, changes, vifs, networks, onStep: o.onStep })
  return { ...result, state: action === 'update' ? 'updated' : 'reconciled' }
}
