import { z } from 'zod'
import type { Recipe } from '../recipe/schema.js'
import { formatSize } from '../recipe/size.js'
import type { VifRecord, VmDetailRecord } from '../xapi/records.js'

/**
 * The settings a recipe (or a fleet file) asks of a VM, in one shape for provision and the
 * fleet, and how a VM's live values compare with them. One comparison, used by both: a
 * single `provision` of an existing VM and a rollout of a fleet say the same things.
 *
 * The settings the tool applied last are recorded on the VM (other_config SETTINGS_KEY, as
 * JSON). That record is what tells intent from drift: the file differs from the record →
 * the user changed the file (a `change`, applied); the VM differs from the record → someone
 * changed the VM (a `drift`, reported, applied only when asked).
 */
export const SETTINGS_KEY = 'xcp-provision:settings'

/** Field → canonical value (bytes, counts, strings), as compared and recorded. */
export type Settings = Record<string, string>

export const SettingDiff = z.object({
  field: z.string(),
  /** What the file asks for, and what the VM has (sizes in binary units, for people). */
  want: z.string(),
  have: z.string(),
  /** `change`: the file asks for something new since the last apply; `drift`: the VM was changed on the pool (or, with no record of the last apply, either). */
  kind: z.enum(['change', 'drift']),
})
export type SettingDiff = z.infer<typeof SettingDiff>

const MEMORY = ['static_min', 'static_max', 'dynamic_min', 'dynamic_max'] as const

/** How a VM boots, in the recipe's words: `pv`, `pvh`, `hvm bios` or `hvm uefi` (xapi_vm.ml derives domain_type from the policy). */
export function bootOf(vm: Pick<VmDetailRecord, 'HVM_boot_policy' | 'HVM_boot_params' | 'domain_type'>): string {
  if (vm.HVM_boot_policy !== '') return `hvm ${vm.HVM_boot_params.firmware ?? 'bios'}`
  return vm.domain_type === 'pvh' ? 'pvh' : 'pv'
}

/**
 * What the recipe asks: boot mode and firmware, memory, VCPUs, PV args, an explicit MAC, and
 * power state when the recipe starts its VMs. A derived MAC is not a setting: the one the VM
 * got is right by definition (it may carry a salt).
 */
export function wantedSettings(r: Recipe): Settings {
  const s: Settings = { boot: r.boot.mode === 'hvm' ? `hvm ${r.boot.firmware}` : r.boot.mode }
  for (const k of MEMORY) s[`memory_${k}`] = String(r.memory[k])
  s.VCPUs_max = String(r.vcpus)
  s.VCPUs_at_startup = String(r.vcpus)
  s.PV_args = r.pv.args
  if (r.network.mac !== 'derived') s.MAC = r.network.mac.toLowerCase()
  if (r.start) s.power_state = 'Running'
  return s
}

/** The same fields, read from the VM and its VIFs. */
export function liveSettings(vm: VmDetailRecord, vifs: readonly VifRecord[], r: Recipe): Settings {
  const s: Settings = { boot: bootOf(vm) }
  s.memory_static_min = String(vm.memory_static_min)
  s.memory_static_max = String(vm.memory_static_max)
  s.memory_dynamic_min = String(vm.memory_dynamic_min)
  s.memory_dynamic_max = String(vm.memory_dynamic_max)
  s.VCPUs_max = String(vm.VCPUs_max)
  s.VCPUs_at_startup = String(vm.VCPUs_at_startup)
  s.PV_args = vm.PV_args
  const vif = vifs.find((v) => v.device === r.network.device)
  s.MAC = vif ? vif.MAC.toLowerCase() : `(no VIF ${r.network.device})`
  s.power_state = vm.power_state
  return s
}

/** The record of the last apply, or undefined (a VM made before the record existed, or a record that does not parse). */
export function recordedSettings(otherConfig: Record<string, string>): Settings | undefined {
  const raw = otherConfig[SETTINGS_KEY]
  if (raw === undefined) return undefined
  try {
    const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** The record's value: JSON with the keys in a fixed order, so the same settings give the same string. */
export const settingsRecord = (s: Settings): string => JSON.stringify(Object.fromEntries(Object.entries(s).sort(([a], [b]) => a.localeCompare(b))))

const show = (field: string, v: string): string => (field.startsWith('memory_') && /^\d+$/.test(v) ? formatSize(Number(v)) : v)

/**
 * Every field where the VM is not what the recipe asks, and why: the file changed since the
 * last apply (`change`), or the VM did (`drift`). Without a record every difference is drift:
 * the tool cannot know who made it, and drift is only changed when asked.
 */
export function compareSettings(vm: VmDetailRecord, vifs: readonly VifRecord[], r: Recipe): SettingDiff[] {
  const want = wantedSettings(r)
  const have = liveSettings(vm, vifs, r)
  const recorded = recordedSettings(vm.other_config)
  const out: SettingDiff[] = []
  for (const [field, w] of Object.entries(want)) {
    const h = have[field] ?? ''
    if (h === w) continue
    const kind = recorded !== undefined && recorded[field] !== w ? 'change' : 'drift'
    out.push({ field, want: show(field, w), have: show(field, h), kind })
  }
  return out
}

/** Differences no in-place change can apply: the VM's disk was made for the boot it has. Applying one means replacing the VM. */
export const NEEDS_REPLACE = new Set(['boot'])

/** Changes XAPI refuses on a running VM (memory, VCPUs), a plugged VIF (MAC), or that take effect only at boot (PV args). */
export const NEEDS_HALT = new Set(['memory_static_min', 'memory_static_max', 'memory_dynamic_min', 'memory_dynamic_max', 'VCPUs_max', 'VCPUs_at_startup', 'MAC', 'PV_args'])

/** Applying these changes to a VM in this power state halts or replaces it. */
export const isDisruptive = (changes: readonly Pick<SettingDiff, 'field'>[], powerState: string): boolean =>
  changes.some((c) => NEEDS_REPLACE.has(c.field)) || (powerState !== 'Halted' && changes.some((c) => NEEDS_HALT.has(c.field)))
