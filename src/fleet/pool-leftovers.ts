import { buildingName, type Leftovers } from '../provision/leftovers.js'
import { TAG, type PoolInventory } from './inventory.js'

/** The name every base VDI gets at creation (base-vdi.ts); a clone keeps it until its VM's disk name goes on. */
export const BASE_LABEL_PREFIX = 'xcp-provision base '

/**
 * What interrupted rollouts left in a pool that belongs to no one VM, removed before
 * anything is built and whatever the plan for each VM (a re-run that creates nothing
 * cleans up too). Pure: read from the inventory.
 *
 * - Half-built golden templates: still under provision's temporary name for one of this
 *   fleet's template names.
 * - Disk clones killed before their first tag: they carry a base's uuid that is not their
 *   own (VDI.clone copies other_config), no VM tag, still the base's name, and nothing
 *   attached. Only a rollout's VDI.clone makes such a VDI, and it never belonged to a VM.
 */
export function poolLeftovers(inv: PoolInventory, templateNames: Iterable<string>): Leftovers {
  const building = new Set([...templateNames].map(buildingName))
  const vms = Object.entries(inv.vms).filter(([, v]) => !v.is_a_snapshot && building.has(v.name_label))
  const vdis = Object.entries(inv.vdis).filter(([, d]) => {
    const base = d.other_config[TAG.base]
    return (
      base !== undefined && base !== d.uuid && !(TAG.vm in d.other_config) && TAG.imageSha256 in d.other_config && d.name_label.startsWith(BASE_LABEL_PREFIX) && d.VBDs.length === 0 && !d.is_a_snapshot
    )
  })
  return {
    vms: vms.map(([ref, v]) => ({ ref, uuid: v.uuid, power_state: v.power_state })),
    vdis: vdis.map(([ref, d]) => ({ ref, uuid: d.uuid, name_label: d.name_label })),
    tasks: [],
  }
}

export const isEmpty = (l: Leftovers): boolean => l.vms.length + l.vdis.length + l.tasks.length === 0

/** One line per object, as the result lists leftovers (planned for removal, or removed). */
export const describe = (l: Leftovers, pool: string): string[] => [...l.vms.map((x) => `VM ${x.uuid} (pool ${pool})`), ...l.vdis.map((d) => `VDI ${d.name_label} (${d.uuid})`)]
