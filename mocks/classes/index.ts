import type { Handlers } from '../context.js'
import { implicitHandlers } from './generic.js'
import { sessionHandlers } from './session.js'
import { taskHandlers } from './task.js'
import { eventHandlers } from './event.js'
import { vmHandlers } from './vm.js'
import { vdiHandlers } from './vdi.js'
import { vbdHandlers } from './vbd.js'
import { vifHandlers } from './vif.js'
import { hostHandlers } from './host.js'
import { vbdHotplugHandlers } from './vbd-hotplug.js'
import { vmPowerHandlers } from './vm-power.js'
import { vmCopyHandlers } from './vm-copy.js'
import { deviceHandlers } from './vbd-operations.js'
import { storageHandlers } from './storage-operations.js'
import { accessHandlers } from './access.js'
import { vifIpHandlers } from './vif-ip.js'

/** The classes the simulator serves; each gets the datamodel's implicit messages first. */
export const SERVED_CLASSES = [
  'session',
  'pool',
  'host',
  'SR',
  'PBD',
  'VDI',
  'VBD',
  'VIF',
  'network',
  'VM',
  'VM_metrics',
  'VM_guest_metrics',
  'task',
  'event',
  'PIF',
  'host_metrics',
  'host_cpu',
  'console',
  'role',
]

export function allHandlers(): Handlers {
  const generic = Object.assign({}, ...SERVED_CLASSES.map(implicitHandlers)) as Handlers
  return {
    ...generic,
    ...sessionHandlers,
    ...taskHandlers,
    ...eventHandlers,
    ...vmHandlers,
    ...vdiHandlers,
    ...vbdHandlers,
    ...vifHandlers,
    ...hostHandlers,
    ...vbdHotplugHandlers,
    // After vbd-hotplug: VBD.unplug here applies all of xapi_vbd_helpers' rules.
    ...vmPowerHandlers,
    ...vmCopyHandlers,
    ...deviceHandlers,
    ...storageHandlers,
    ...accessHandlers,
    ...vifIpHandlers,
  }
}
