import type { Recipe } from '../recipe/schema.js'
import { formatSize } from '../recipe/size.js'
import type { VifRecord, VmDetailRecord } from '../xapi/records.js'
import type { Drift } from './types.js'

/** How a VM boots, in the recipe's words: `pv`, `pvh`, `hvm bios` or `hvm uefi` (xapi_vm.ml derives domain_type from the policy). */
export function bootOf(vm: Pick<VmDetailRecord, 'HVM_boot_policy' | 'HVM_boot_params' | 'domain_type'>): string {
  if (vm.HVM_boot_policy !== '') return `hvm ${vm.HVM_boot_params.firmware ?? 'bios'}`
  return vm.domain_type === 'pvh' ? 'pvh' : 'pv'
}

const wantedBoot = (r: Recipe): string => (r.boot.mode === 'hvm' ? `hvm ${r.boot.firmware}` : r.boot.mode)

/**
 * What an existing VM has that the fleet does not want: its boot mode and firmware,
 * memory, VCPUs, PV args, an explicit MAC, and power state when the recipe starts its VMs. A derived MAC is not
 * compared: the one the VM got is right by definition (it may carry a salt).
 */
export function driftOf(vm: VmDetailRecord, vifs: readonly VifRecord[], recipe: Recipe): Drift[] {
  const out: Drift[] = []
  const boot = bootOf(vm)
  if (boot !== wantedBoot(recipe)) out.push({ field: 'boot', want: wantedBoot(recipe), have: boot })
  const mem = recipe.memory
  const sizes: [keyof typeof mem, number][] = [
    ['static_min', vm.memory_static_min],
    ['static_max', vm.memory_static_max],
    ['dynamic_min', vm.memory_dynamic_min],
    ['dynamic_max', vm.memory_dynamic_max],
  ]
  for (const [k, have] of sizes) {
    if (have !== mem[k]) out.push({ field: `memory_${k}`, want: formatSize(mem[k]), have: formatSize(have) })
  }
  if (vm.VCPUs_max !== recipe.vcpus) out.push({ field: 'VCPUs_max', want: String(recipe.vcpus), have: String(vm.VCPUs_max) })
  if (vm.VCPUs_at_startup !== recipe.vcpus) out.push({ field: 'VCPUs_at_startup', want: String(recipe.vcpus), have: String(vm.VCPUs_at_startup) })
  if (vm.PV_args !== recipe.pv.args) out.push({ field: 'PV_args', want: recipe.pv.args, have: vm.PV_args })
  const vif = vifs.find((v) => v.device === recipe.network.device)
  if (recipe.network.mac !== 'derived') {
    const want = recipe.network.mac.toLowerCase()
    if (vif?.MAC.toLowerCase() !== want) out.push({ field: 'MAC', want, have: vif?.MAC.toLowerCase() ?? `(no VIF ${recipe.network.device})` })
  }
  if (recipe.start && vm.power_state !== 'Running') out.push({ field: 'power_state', want: 'Running', have: vm.power_state })
  return out
}

/**
 * Drift that --reconcile does not change: the VM's disk was made for the boot it has, and
 * switching it is `provision convert`'s job (it writes the boot blocks the new mode needs).
 */
export const NOT_RECONCILED = new Set(['boot'])

/** Drift that can only be fixed with the VM halted (XAPI refuses these changes while it runs). */
export const NEEDS_HALT = new Set(['memory_static_min', 'memory_static_max', 'memory_dynamic_min', 'memory_dynamic_max', 'VCPUs_max', 'VCPUs_at_startup', 'MAC', 'PV_args'])
