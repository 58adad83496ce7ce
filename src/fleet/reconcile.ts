import type { XapiConnection } from '../xapi/connection.js'
import { updateVm } from '../provision/update-vm.js'
import type { PoolInventory } from './inventory.js'
import type { VmPlan } from './planner.js'

/**
 * Applies a VM's planned changes (the file's, and drift with --reconcile) in place with
 * provision's own update (src/provision/update-vm.ts): a running VM is halted for what XAPI
 * refuses live, changed, started again, and the settings go on record.
 */
export async function reconcileVm(x: XapiConnection, v: VmPlan, inv: PoolInventory, onStep: (id: string, title: string) => void): Promise<void> {
  const { ref, record } = v.existing!
  await updateVm(x, { ref, record, recipe: v.spec.recipe, changes: v.changes, vifs: inv.vifs, networks: inv.networks, onStep })
}
