import { fault } from '../fault.js'
import type { Handlers } from '../context.js'

/**
 * VBD.unplug of a running VM's disk: xapi refuses a VBD that is not attached
 * (DEVICE_ALREADY_DETACHED) and, for a guest without PV drivers, any hot-unplug; the
 * simulated guest is taken to cooperate once it has reported through an agent.
 */
export const vbdHotplugHandlers: Handlers = {
  'VBD.unplug': (c, [ref]) => {
    const r = String(ref)
    const vbd = c.store.get('VBD', r)
    if (!vbd.currently_attached) throw fault('DEVICE_ALREADY_DETACHED', r)
    const vm = c.store.get('VM', String(vbd.VM))
    if (String(vm.guest_metrics) === 'OpaqueRef:NULL') throw fault('VM_MISSING_PV_DRIVERS', String(vbd.VM))
    c.store.update('VBD', r, { currently_attached: false })
  },
}
