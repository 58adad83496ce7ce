import { buildingName, findTasksOf, INCOMPLETE_KEY, removeLeftovers, type Leftovers } from '../provision/leftovers.js'
import type { XapiConnection } from '../xapi/connection.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import { TAG, type PoolInventory } from './inventory.js'
import { DRIVE_KEY } from '../provision/first-boot.js'
import { markOf } from '../provision/marks.js'

/** What an interrupted rollout left of one VM, and that VM's disks found attached to nothing, which stay. */
export interface VmLeftovers {
  found: Leftovers
  /** One line per disk that once belonged to this fleet VM and now has no VM: reported, never removed. */
  leftInPlace: string[]
}

/**
 * What an interrupted rollout left of one VM in one pool. A fleet VM keeps provision's
 * temporary name (buildingName) from its clone until its last step, so the next rollout
 * recognises an unfinished one by name and tags, without guessing. Pure: read from the inventory.
 *
 * A disk is taken only with proof that its VM never reached its real name: it is attached
 * to such an unfinished VM and to nothing else, or it is attached to nothing and still
 * carries the incomplete mark, which the last step removes before it renames the VM. A
 * disk of a VM that was finished and then destroyed by hand (`xe vm-destroy` keeps disks)
 * has lost that mark: it holds someone's data, so it is reported and left in place.
 */
export function fleetLeftovers(inv: PoolInventory, fleet: string, name: string): VmLeftovers {
  const vms = Object.entries(inv.vms).filter(
    // The name alone is enough with the fleet tag (inherited from the golden template): a run
    // killed right after the clone has not tagged the VM or made it a non-template yet.
    ([, v]) => !v.is_a_snapshot && v.other_config[TAG.fleet] === fleet && v.name_label === buildingName(name),
  )
  const theirs = new Set(vms.map(([ref]) => ref))
  const vbdOwner = new Map(vms.flatMap(([ref, v]) => v.VBDs.map((b) => [b, ref] as const)))
  const ours = (d: VdiDetailRecord): boolean =>
    // Disks made before the fleet tag went on disks carry none: they are this fleet's only if marked incomplete.
    d.other_config[TAG.vm] === name && TAG.imageSha256 in d.other_config && (d.other_config[TAG.fleet] ?? fleet) === fleet && !d.is_a_snapshot
  const disks = Object.entries(inv.vdis).filter(([, d]) => ours(d))
  const unfinished = ([, d]: [string, VdiDetailRecord]): boolean =>
    d.VBDs.length > 0 ? d.VBDs.every((b) => theirs.has(vbdOwner.get(b) ?? '')) : d.other_config[INCOMPLETE_KEY] === 'true' && d.other_config[TAG.fleet] === fleet
  // The config drive of an unfinished VM (first-boot-steps.ts): marked for the VM name and incomplete until the VM is named.
  const drives = Object.entries(inv.vdis).filter(
    ([, d]) => d.other_config[DRIVE_KEY] === markOf(name) && d.other_config[INCOMPLETE_KEY] === 'true' && !d.is_a_snapshot && d.VBDs.every((b) => theirs.has(vbdOwner.get(b) ?? '')),
  )
  const vdis = [...disks.filter(unfinished), ...drives]
  const orphans = disks.filter((e) => !unfinished(e) && e[1].VBDs.length === 0)
  return {
    found: {
      vms: vms.map(([ref, v]) => ({ ref, uuid: v.uuid, power_state: v.power_state })),
      vdis: vdis.map(([ref, d]) => ({ ref, uuid: d.uuid, name_label: d.name_label })),
      // A disk clone has no upload; a config drive has one, whose task removeVmLeftovers finds.
      tasks: [],
    },
    leftInPlace: orphans.map(
      ([, d]) => `disk "${d.name_label}" (${d.uuid}) of fleet VM ${name} is attached to no VM; left in place (it may hold that VM's data: attach it to a VM, or delete it by hand)`,
    ),
  }
}

/**
 * Removes what fleetLeftovers found, with provision's rule for tasks: its upload tasks
 * (`xcp-provision: import raw VDI`, named for the VDI) of the disks being removed. A run
 * killed during a config drive's upload leaves that task pending (task.create's tasks end
 * only when their owner ends them), and provision's removal cancels and destroys it.
 * The inventory has no tasks, so they are read here, only when there is a disk to remove:
 * a run with nothing left over makes no extra call.
 */
export async function removeVmLeftovers(x: XapiConnection, found: Leftovers): Promise<string[]> {
  const tasks = found.vdis.length ? await findTasksOf(x, new Set(found.vdis.map((d) => d.ref))) : []
  return removeLeftovers(x, { ...found, tasks: [...found.tasks, ...tasks] })
}
