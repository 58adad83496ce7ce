import type { Ctx, Handlers } from '../context.js'
import { NULL_REF } from '../datamodel/model.js'
import { assertDeviceOperation, vbdOperationErrors, vifOperationErrors } from './device-operations.js'
import { deviceName } from './derived.js'

/**
 * Hot-plug and removable media (xapi_vbd.ml, xapi_vif.ml): each call is checked against
 * valid_operations (device-operations.ts) first, so the error and its order are xapi's;
 * a halted VM's devices are never plugged (VM_BAD_POWER_STATE), a running HVM guest
 * needs PV drivers, and a CD is ejected or inserted, never plugged.
 */
function vbdOp(c: Ctx, ref: string, op: string): void {
  assertDeviceOperation(vbdOperationErrors(c.store, ref), op)
}

function vifOp(c: Ctx, ref: string, op: string): void {
  assertDeviceOperation(vifOperationErrors(c.store, ref), op)
}

export const deviceHandlers: Handlers = {
  'VBD.plug': (c, [self]) => {
    const ref = String(self)
    vbdOp(c, ref, 'plug')
    c.store.update('VBD', ref, { currently_attached: true, device: deviceName(String(c.store.get('VBD', ref).userdevice)) })
  },
  'VBD.unplug': (c, [self]) => {
    const ref = String(self)
    vbdOp(c, ref, 'unplug')
    c.store.update('VBD', ref, { currently_attached: false })
  },
  'VBD.unplug_force': (c, [self]) => {
    const ref = String(self)
    vbdOp(c, ref, 'unplug_force')
    c.store.update('VBD', ref, { currently_attached: false })
  },
  'VBD.eject': (c, [self]) => {
    const ref = String(self)
    vbdOp(c, ref, 'eject')
    c.store.update('VBD', ref, { VDI: NULL_REF, empty: true })
  },
  'VBD.insert': (c, [self, vdi]) => {
    const ref = String(self)
    c.store.get('VDI', String(vdi))
    vbdOp(c, ref, 'insert')
    c.store.update('VBD', ref, { VDI: String(vdi), empty: false })
  },
  'VIF.plug': (c, [self]) => {
    const ref = String(self)
    vifOp(c, ref, 'plug')
    c.store.update('VIF', ref, { currently_attached: true })
  },
  'VIF.unplug': (c, [self]) => {
    const ref = String(self)
    vifOp(c, ref, 'unplug')
    c.store.update('VIF', ref, { currently_attached: false })
  },
  'VIF.unplug_force': (c, [self]) => {
    const ref = String(self)
    // vif_operations has no unplug_force: xapi checks it as unplug.
    vifOp(c, ref, 'unplug')
    c.store.update('VIF', ref, { currently_attached: false })
  },
}
