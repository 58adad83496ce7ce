import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import type { XapiConnection } from '../xapi/connection.js'
import type { PoolInventory } from './inventory.js'
import type { VmPlan } from './planner.js'
import { NEEDS_HALT } from './drift.js'

/**
 * Brings a drifted VM back to the fleet's settings (--reconcile only). XAPI refuses
 * memory and VCPU changes on a running VM and a VIF cannot be replaced while plugged,
 * so a running VM is shut down cleanly (its guest gets to stop its services), changed,
 * and started again. Nothing is rolled back: each change stands on its own.
 */
export async function reconcileVm(x: XapiConnection, v: VmPlan, inv: PoolInventory, onStep: (id: string, title: string) => void): Promise<void> {
  const { ref, record } = v.existing!
  const r = v.spec.recipe
  const fields = new Set(v.drift.map((d) => d.field))
  const halt = [...fields].some((f) => NEEDS_HALT.has(f))
  let running = record.power_state === 'Running'
  if (halt && running) {
    onStep('vm.shutdown', 'Shut the VM down cleanly')
    await VM.clean_shutdown(x, ref)
    running = false
  }
  if ([...fields].some((f) => f.startsWith('memory_'))) {
    onStep('vm.memory', 'Set memory limits')
    const m = r.memory
    await VM.set_memory_limits(x, ref, m.static_min, m.static_max, m.dynamic_min, m.dynamic_max)
  }
  if (fields.has('VCPUs_max') || fields.has('VCPUs_at_startup')) {
    onStep('vm.vcpus', 'Set VCPUs')
    // Keep 0 < at_startup <= max after every call: grow max first, shrink at_startup first.
    if (r.vcpus >= record.VCPUs_max) {
      await VM.set_VCPUs_max(x, ref, r.vcpus)
      await VM.set_VCPUs_at_startup(x, ref, r.vcpus)
    } else {
      await VM.set_VCPUs_at_startup(x, ref, r.vcpus)
      await VM.set_VCPUs_max(x, ref, r.vcpus)
    }
  }
  if (fields.has('PV_args')) {
    onStep('vm.pv', 'Set PV-args')
    await VM.set_PV_args(x, ref, r.pv.args)
  }
  if (fields.has('MAC') && r.network.mac !== 'derived') {
    onStep('vif.replace', 'Replace the network interface with the wanted MAC')
    const old = record.VIFs.map((f) => [f, inv.vifs[f]] as const).find(([, f]) => f?.device === r.network.device)
    const network = old?.[1]?.network ?? Object.entries(inv.networks).find(([, n]) => n.bridge === r.network.bridge)?.[0]
    if (!network) throw new Error(`no network on bridge ${r.network.bridge}`)
    if (old) await VIF.destroy(x, old[0])
    await VIF.create(x, { VM: ref, network, device: r.network.device, MAC: r.network.mac, MTU: inv.networks[network]?.MTU ?? 1500 })
  }
  if (r.start && !running) {
    onStep('vm.start', 'Start the VM')
    await VM.start(x, ref)
  }
}
