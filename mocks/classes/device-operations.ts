import { type XapiFault, fault } from '../fault.js'
import type { Store } from '../store.js'
import type { XRecord } from '../datamodel/model.js'

/**
 * xapi_vbd_helpers.ml / xapi_vif_helpers.ml valid_operations: for each device operation
 * the first error that blocks it (the first rule to set an error wins), from the
 * device's own state, its VM's power state and operations, and for a running HVM guest
 * whether its PV drivers can hot-plug.
 */
type Table = Map<string, XapiFault | undefined>

const VBD_OPS = ['attach', 'eject', 'unplug', 'unplug_force', 'insert', 'plug', 'pause', 'unpause']
const VIF_OPS = ['attach', 'plug', 'unplug']

function table(ops: string[]): { t: Table; set: (e: XapiFault, which: string[]) => void } {
  const t: Table = new Map(ops.map((o) => [o, undefined]))
  return { t, set: (e, which) => which.forEach((o) => t.get(o) === undefined && t.has(o) && t.set(o, e)) }
}

function guestMetrics(store: Store, vm: Readonly<XRecord>): Readonly<XRecord> | undefined {
  const gm = String(vm.guest_metrics)
  return store.classOf(gm) === 'VM_guest_metrics' ? store.get('VM_guest_metrics', gm) : undefined
}

/** Xapi_pv_driver_version.make_error_opt: an HVM guest needs its PV drivers to hot-plug. */
function driverError(gm: Readonly<XRecord> | undefined, vmRef: string): XapiFault | undefined {
  if (gm && gm.PV_drivers_detected === true) return undefined
  return fault('VM_MISSING_PV_DRIVERS', vmRef)
}

/** The checks VBDs and VIFs share: power state against plugged, and the VM's own shutdown-like operations. */
function powerRules(set: (e: XapiFault, which: string[]) => void, ref: string, plugged: boolean, vmRef: string, vm: Readonly<XRecord>, unplugOps: string[], vbd: boolean): void {
  const state = String(vm.power_state)
  if (state === 'Running' && plugged) set(fault('DEVICE_ALREADY_ATTACHED', ref), ['plug'])
  else if (state === 'Running') set(fault('DEVICE_ALREADY_DETACHED', ref), unplugOps)
  else {
    const bad = vbd && state !== 'Paused' ? ['pause', 'unpause', 'plug', ...unplugOps] : ['plug', ...unplugOps]
    set(fault('VM_BAD_POWER_STATE', vmRef, 'running', state.toLowerCase()), bad)
  }
  for (const op of Object.values(vm.current_operations as Record<string, string>)) {
    if (['clean_shutdown', 'hard_shutdown', 'suspend', 'pause'].includes(op)) {
      set(fault('OPERATION_NOT_ALLOWED', `Current operation on VM:${vmRef} is ${op}`), ['plug', 'unplug'])
    }
  }
}

export function vbdOperationErrors(store: Store, ref: string): Table {
  const rec = store.get('VBD', ref)
  const { t, set } = table(VBD_OPS)
  const current = Object.entries(rec.current_operations as Record<string, string>).sort(([, a], [, b]) => a.localeCompare(b))
  if (current[0])
    set(
      fault('OTHER_OPERATION_IN_PROGRESS', 'VBD', ref, current[0][1], current[0][0]),
      VBD_OPS.filter((o) => o !== 'pause' && o !== 'unpause'),
    )
  if (!rec.unpluggable) set(fault('VBD_NOT_UNPLUGGABLE', ref), ['unplug', 'unplug_force'])
  if (rec.type !== 'CD') set(fault('VBD_NOT_REMOVABLE_MEDIA', ref), ['insert', 'eject'])
  if (rec.empty === true) set(fault('VBD_IS_EMPTY', ref), ['eject'])
  else set(fault('VBD_NOT_EMPTY', ref), ['insert'])
  const vmRef = String(rec.VM)
  const vm = store.get('VM', vmRef)
  powerRules(set, ref, rec.currently_attached === true || rec.reserved === true, vmRef, vm, ['unplug', 'unplug_force'], true)
  if (vm.power_state === 'Running' && vm.domain_type === 'hvm') {
    const plugOps = ['plug', 'unplug', 'unplug_force']
    const gm = guestMetrics(store, vm)
    const claim = gm ? String(gm.can_use_hotplug_vbd) : 'unspecified'
    if (claim === 'no') set(fault('OPERATION_NOT_ALLOWED', 'VM states it does not support VBD hotplug.'), plugOps)
    else if (claim !== 'yes') {
      const e = driverError(gm, vmRef)
      if (e) set(e, plugOps)
    }
    if (rec.type === 'CD') set(fault('OPERATION_NOT_ALLOWED', 'HVM CDROMs cannot be hotplugged/unplugged, only inserted or ejected'), plugOps)
  }
  if (rec.type === 'CD' && vm.power_state === 'Suspended') set(fault('VM_BAD_POWER_STATE', vmRef, 'halted, running', 'suspended'), ['insert', 'eject'])
  const vdi = String(rec.VDI)
  if (rec.empty !== true && store.classOf(vdi) === 'VDI') {
    const v = store.get('VDI', vdi)
    if (v.managed === false) set(fault('VDI_NOT_MANAGED', ref), VBD_OPS)
    const busy = Object.entries(v.current_operations as Record<string, string>).find(([, o]) => o !== 'copy' && o !== 'mirror')
    if (busy) set(fault('OTHER_OPERATION_IN_PROGRESS', 'VDI', vdi, busy[1], busy[0]), VBD_OPS)
  }
  return t
}

export function vifOperationErrors(store: Store, ref: string): Table {
  const rec = store.get('VIF', ref)
  const { t, set } = table(VIF_OPS)
  const current = Object.entries(rec.current_operations as Record<string, string>)
  if (current.length > 0) {
    const fmt = (xs: string[]): string => `{${xs.join('; ')}}`
    set(fault('OTHER_OPERATION_IN_PROGRESS', 'VIF', ref, fmt(current.map(([, o]) => o).reverse()), fmt(current.map(([r]) => r).reverse())), VIF_OPS)
  }
  const vmRef = String(rec.VM)
  const vm = store.get('VM', vmRef)
  if (vm.is_control_domain === true && vm.domid === 0) set(fault('OPERATION_NOT_ALLOWED', 'Control domain does not support hotplug'), ['plug'])
  powerRules(set, ref, rec.currently_attached === true || rec.reserved === true, vmRef, vm, ['unplug'], false)
  if (vm.power_state === 'Running' && vm.domain_type === 'hvm') {
    const gm = guestMetrics(store, vm)
    const claim = gm ? String(gm.can_use_hotplug_vif) : 'unspecified'
    if (claim === 'no') set(fault('OPERATION_NOT_ALLOWED', 'VM states it does not support VIF hotplug.'), ['plug', 'unplug'])
    else if (claim !== 'yes') {
      const e = driverError(gm, vmRef)
      if (e) set(e, ['plug', 'unplug'])
    }
  }
  return t
}

export function assertDeviceOperation(t: Table, op: string): void {
  const e = t.get(op)
  if (e) throw e
}

export const allowedFrom = (t: Table): string[] => [...t].filter(([, e]) => e === undefined).map(([op]) => op)
