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
  hard_shutdown: ['Running', 'Paused', 'Suspended'],
  clean_shutdown: ['Running'],
}

/** Operations a template may do (check_template); anything else gives VM_IS_TEMPLATE. */
const TEMPLATE_OK = new Set(['clone', 'copy', 'provision', 'changing_memory_limits', 'changing_VCPUs', 'destroy', 'export'])

export function assertOperation(ref: string, vm: Readonly<XRecord>, op: string): void {
  const blocked = vm.blocked_operations as Record<string, string>
  if (op in blocked) throw fault('OPERATION_BLOCKED', ref, blocked[op] ?? '')
  const allowed = ALLOWED_STATES[op]
  if (allowed && !allowed.includes(String(vm.power_state))) {
    throw fault('VM_BAD_POWER_STATE', ref, allowed.map((s) => s.toLowerCase()).join(', '), String(vm.power_state).toLowerCase())
  }
  const current = vm.current_operations as Record<string, string>
  const [task, other] = Object.entries(current)[0] ?? []
  if (task && other) throw fault('OTHER_OPERATION_IN_PROGRESS', 'VM', ref, other, task)
  if (vm.is_a_template && !TEMPLATE_OK.has(op)) {
    if (op === 'provision') return
    throw fault('VM_IS_TEMPLATE', ref, op)
  }
  if (op === 'destroy' && vm.is_default_template) throw fault('VM_IS_TEMPLATE', ref, op)
}
