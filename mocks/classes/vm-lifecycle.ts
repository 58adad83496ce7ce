import { fault } from '../fault.js'
import type { XRecord } from '../datamodel/model.js'

/**
 * XAPI's check_operation_error order for a VM operation: power state first, then the
 * template rule. Power states in the error are lowercase, unlike the record field.
 */
const ALLOWED_STATES: Record<string, string[]> = {
  start: ['Halted'],
  provision: ['Halted'],
  clone: ['Halted'],
  copy: ['Halted'],
  changing_memory_limits: ['Halted'],
  changing_VCPUs: ['Halted'],
  destroy: ['Halted', 'Suspended'],
  // The order xapi_vm_lifecycle.allowed_power_states lists them in, which the error repeats.
  hard_shutdown: ['Paused', 'Suspended', 'Running'],
  clean_shutdown: ['Running'],
}

/**
 * is_allowed_concurrently: operations that may overlap when every one in progress is
 * from the same set; parallel clones of one template are the common case.
 */
const CONCURRENT_SETS = [['clone', 'copy', 'export'], ['snapshot', 'checkpoint'], ['get_boot_record']]

/** Operations a template may do (check_template); anything else gives VM_IS_TEMPLATE. */
const TEMPLATE_OK = new Set(['clone', 'copy', 'provision', 'changing_memory_limits', 'changing_VCPUs', 'destroy', 'export'])

export function assertOperation(ref: string, vm: Readonly<XRecord>, op: string): void {
  const blocked = vm.blocked_operations as Record<string, string>
  if (op in blocked) throw fault('OPERATION_BLOCKED', ref, blocked[op] ?? '')
  const allowed = ALLOWED_STATES[op]
  if (allowed && !allowed.includes(String(vm.power_state))) {
    throw fault('VM_BAD_POWER_STATE', ref, allowed.map((s) => s.toLowerCase()).join(', '), String(vm.power_state).toLowerCase())
  }
  const current = Object.entries(vm.current_operations as Record<string, string>)
  const together = CONCURRENT_SETS.some((set) => set.includes(op) && current.every(([, o]) => set.includes(o)))
  if (current.length > 0 && !together) {
    // report_concurrent_operations_error: one operation as itself, several as "{a,b}" lists.
    const [tasks, ops] = current.length === 1 ? current[0]! : [`{${current.map(([t]) => t).join(',')}}`, `{${current.map(([, o]) => o).join(',')}}`]
    throw fault('OTHER_OPERATION_IN_PROGRESS', 'VM', ref, ops, tasks)
  }
  if (vm.is_a_template && !TEMPLATE_OK.has(op)) {
    if (op === 'provision') return
    throw fault('VM_IS_TEMPLATE', ref, op)
  }
  if (op === 'destroy' && vm.is_default_template) throw fault('VM_IS_TEMPLATE', ref, op)
}
