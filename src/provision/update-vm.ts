import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import type { XapiConnection } from '../xapi/connection.js'
import type { Recipe } from '../recipe/schema.js'
import type { NetworkRecord, VifRecord, VmDetailRecord } from '../xapi/records.js'
import { orThrow } from '../select/choice.js'
import { networkByBridge } from '../select/network.js'
import { vcpuOrder } from '../select/vcpus.js'
import { NEEDS_HALT, SETTINGS_KEY, settingsRecord, wantedSettings, type SettingDiff } from './settings.js'

export interface UpdateInput {
  ref: string
  record: VmDetailRecord
  recipe: Recipe
  /** The differences to apply (never a boot mode: that needs a new VM). */
  changes: readonly Pick<SettingDiff, 'field'>[]
  /** The VM's VIFs and the pool's networks: a MAC change replaces the VIF on its network. */
  vifs: Record<string, VifRecord>
  networks: Record<string, NetworkRecord>
  onStep: (id: string, title: string) => void
}

/**
 * Applies settings to an existing VM in place, for provision and the fleet alike. XAPI
 * refuses memory and VCPU changes on a running VM and a VIF cannot be replaced while
 * plugged, so a running VM is shut down cleanly (its guest stops its services), changed,
 * and started again: the plan calls that disruptive and asks first. Then the settings
 * go on record, so the next run tells a change of the file from a change of the VM.
 * Nothing is rolled back: each change stands on its own.
 */
export async function updateVm(x: XapiConnection, u: UpdateInput): Promise<void> {
  const { ref, record, recipe: r } = u
  const fields = new Set(u.changes.map((d) => d.field))
  const halt = [...fields].some((f) => NEEDS_HALT.has(f))
  const wasRunning = record.power_state === 'Running'
  let running = wasRunning
  if (halt && running) {
    u.onStep('vm.shutdown', 'Shut the VM down cleanly')
    await VM.clean_shutdown(x, ref)
    running = false
  }
  if ([...fields].some((f) => f.startsWith('memory_'))) {
    u.onStep('vm.memory', 'Set memory limits')
    const m = r.memory
    await VM.set_memory_limits(x, ref, m.static_min, m.static_max, m.dynamic_min, m.dynamic_max)
  }
  if (fields.has('VCPUs_max') || fields.has('VCPUs_at_startup')) {
    u.onStep('vm.vcpus', 'Set VCPUs')
    await setVcpus(x, ref, record.VCPUs_max, r.vcpus)
  }
  if (fields.has('PV_args')) {
    u.onStep('vm.pv', 'Set PV-args')
    await VM.set_PV_args(x, ref, r.pv.args)
  }
  if (fields.has('MAC') && r.network.mac !== 'derived') {
    u.onStep('vif.replace', 'Replace the network interface with the wanted MAC')
    const old = record.VIFs.map((f) => [f, u.vifs[f]] as const).find(([, f]) => f?.device === r.network.device)
    const network = old?.[1]?.network ?? orThrow(networkByBridge(u.networks, r.network.bridge, 'recipe')).ref
    if (old) await VIF.destroy(x, old[0])
    await VIF.create(x, { VM: ref, network, device: r.network.device, MAC: r.network.mac, MTU: u.networks[network]?.MTU ?? 1500 })
  }
  await recordSettings(x, ref, r, record.other_config)
  // Started again when it ran before (the halt was only for these changes), or when the recipe starts its VMs.
  if ((r.start || wasRunning) && !running) {
    u.onStep('vm.start', 'Start the VM')
    await VM.start(x, ref)
  }
}

/** Puts the recipe's settings on record as the last apply (remove then add: add fails on an existing key). */
export async function recordSettings(x: XapiConnection, ref: string, r: Recipe, otherConfig: Record<string, string>): Promise<void> {
  const value = settingsRecord(wantedSettings(r))
  if (otherConfig[SETTINGS_KEY] === value) return
  if (SETTINGS_KEY in otherConfig) await VM.remove_from_other_config(x, ref, SETTINGS_KEY)
  await VM.add_to_other_config(x, ref, SETTINGS_KEY, value)
}

/** Both VCPU fields to `n`, in the order src/select/vcpus.ts gives (XAPI checks at_startup <= max after each call). */
export async function setVcpus(x: XapiConnection, ref: string, currentMax: number, n: number): Promise<void> {
  for (const c of vcpuOrder(currentMax, n)) {
    if (c.field === 'VCPUs_max') await VM.set_VCPUs_max(x, ref, c.value)
    else await VM.set_VCPUs_at_startup(x, ref, c.value)
  }
}
