import { buildingName, type Leftovers } from '../provision/leftovers.js'
import { TAG, type PoolInventory } from './inventory.js'

/**
 * What an interrupted rollout left of one VM in one pool. A fleet VM keeps provision's
 * temporary name (buildingName) from its clone until its last step, so the next rollout
 * recognises an unfinished one by name and tags, without guessing: those VMs, and the
 * disk clones (hash and VM tag) attached to nothing else. Pure: read from the inventory.
 */
export function fleetLeftovers(inv: PoolInventory, fleet: string, name: string): Leftovers {
  const vms = Object.entries(inv.vms).filter(
    // The name alone is enough with the fleet tag (inherited from the golden template): a run
    // killed right after the clone has not tagged the VM or made it a non-template yet.
    ([, v]) => !v.is_a_snapshot && v.other_config[TAG.fleet] === fleet && v.name_label === buildingName(name),
  )
  const theirs = new Set(vms.map(([ref]) => ref))
  const vbdOwner = new Map(vms.flatMap(([ref, v]) => v.VBDs.map((b) => [b, ref] as const)))
  const vdis = Object.entries(inv.vdis).filter(
    ([, d]) => d.other_config[TAG.vm] === name && TAG.imageSha256 in d.other_config && d.VBDs.every((b) => theirs.has(vbdOwner.get(b) ?? '')),
  )
  // A finished VM's disk has a VBD of a finished VM, so it never matches the last test.
  return {
    vms: vms.map(([ref, v]) => ({ ref, uuid: v.uuid, power_state: v.power_state })),
    vdis: vdis.map(([ref, d]) => ({ ref, uuid: d.uuid, name_label: d.name_label })),
    // A fleet VM's disk is a clone: no upload, so no task of its own.
    tasks: [],
  }
}
