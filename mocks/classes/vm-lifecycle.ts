import { type XapiFault, fault } from '../fault.js'
import { datamodel, type XRecord } from '../datamodel/model.js'
import type { Store } from '../store.js'

/**
 * xapi_vm_lifecycle.ml: which operations a VM may do, checked in xapi's order (blocked,
 * power state, concurrency, template, snapshot, provision/revert, control domain, guest
 * features, VDI on-boot mode), and the allowed_operations list built from the same
 * checks. Power states in errors are lowercase, unlike the record field.
 */
const ALL = ['Halted', 'Paused', 'Suspended', 'Running']

function allowedPowerStates(vm: Readonly<XRecord>, op: string): string[] {
  switch (op) {
    case 'import':
      return []
    case 'changing_VCPUs':
    case 'changing_static_range':
    case 'changing_memory_limits':
      return vm.is_control_domain ? ['Halted', 'Running'] : ['Halted']
    case 'changing_shadow_memory':
    case 'changing_NVRAM':
    case 'make_into_template':
    case 'provision':
    case 'start':
    case 'start_on':
    case 'create_vtpm':
      return ['Halted']
    case 'unpause':
      return ['Paused']
    case 'csvm':
    case 'resume':
    case 'resume_on':
      return ['Suspended']
    case 'changing_dynamic_range':
      return ['Halted', 'Running']
    case 'clone':
    case 'copy':
      // Helpers.clone_suspended_vm_enabled is off by default (xapi.conf).
      return vm.is_a_snapshot ? ['Halted', 'Suspended'] : ['Halted']
    case 'create_template':
    case 'destroy':
    case 'export':
      return ['Halted', 'Suspended']
    case 'hard_reboot':
      return ['Paused', 'Running']
    case 'checkpoint':
    case 'get_boot_record':
    case 'shutdown':
    case 'hard_shutdown':
      return ['Paused', 'Suspended', 'Running']
    case 'migrate_send':
      return ['Halted', 'Suspended', 'Running']
    case 'assert_operation_valid':
    case 'metadata_export':
    case 'power_state_reset':
    case 'revert':
    case 'reverting':
    case 'snapshot':
    case 'update_allowed_operations':
    case 'query_services':
      return ALL
    default:
      // awaiting_memory_live, call_plugin, clean_reboot, clean_shutdown, pause, pool_migrate, suspend…
      return ['Running']
  }
}

/** is_allowed_concurrently: copies with copies, snapshots with snapshots, and the state machine's few pairs. */
function allowedConcurrently(op: string, current: string[]): boolean {
  const within = (set: string[]): boolean => set.includes(op) && current.every((o) => set.includes(o))
  if (within(['clone', 'copy', 'export']) || within(['snapshot', 'checkpoint']) || within(['get_boot_record'])) return true
  if (op === 'hard_shutdown') return !current.includes('hard_shutdown')
  if (op === 'hard_reboot') return !current.some((o) => o === 'hard_shutdown' || o === 'hard_reboot')
  const pairs: [string[], string][] = [
    [['snapshot_with_quiesce'], 'snapshot'],
    [['migrate_send'], 'metadata_export'],
    [['migrate_send'], 'clean_shutdown'],
    [['migrate_send'], 'clean_reboot'],
  ]
  return pairs.some(([state, t]) => t === op && state.length === current.length && state.every((s, i) => s === current[i]))
}

const TEMPLATE_OK = new Set([
  'changing_dynamic_range',
  'changing_static_range',
  'changing_memory_limits',
  'changing_shadow_memory',
  'changing_VCPUs',
  'changing_NVRAM',
  'clone',
  'copy',
  'export',
  'metadata_export',
  'provision',
])
const SNAPSHOT_OK = new Set(['revert', 'clone', 'copy', 'export', 'destroy', 'hard_shutdown', 'metadata_export'])
const CONTROL_DOMAIN_OK = new Set([
  'data_source_op',
  'changing_memory_live',
  'awaiting_memory_live',
  'metadata_export',
  'changing_dynamic_range',
  'changing_memory_limits',
  'changing_static_range',
  'start',
  'start_on',
  'changing_VCPUs',
  'destroy',
])

const truthy = (v: string | undefined): boolean => v === '1' || v?.toLowerCase() === 'true'

/**
 * check_op_for_feature: an HVM guest without PV drivers must advertise the feature an
 * operation needs; `strict` (allowed_operations) asks for it, a call (not strict) does not.
 */
function featureError(store: Store | undefined, ref: string, vm: Readonly<XRecord>, op: string, strict: boolean): XapiFault | undefined {
  if (!store) return undefined
  const live = vm.power_state === 'Running' || vm.power_state === 'Paused'
  const gm = store.classOf(String(vm.guest_metrics)) === 'VM_guest_metrics' ? store.get('VM_guest_metrics', String(vm.guest_metrics)) : undefined
  const metrics = store.classOf(String(vm.metrics)) === 'VM_metrics' ? store.get('VM_metrics', String(vm.metrics)) : undefined
  const other = (gm?.other ?? {}) as Record<string, string>
  const pvDrivers = gm !== undefined && Number((gm.PV_drivers_version as Record<string, string>).major ?? -1) >= 0 && gm.PV_drivers_detected === true
  const bootedPv = ['pv', 'pvh', 'pv_in_pvh'].includes(String(metrics?.current_domain_type ?? ''))
  const implicit = !live || bootedPv || pvDrivers
  const lacks = (f: string): boolean => other[f] !== '1'
  if (['suspend', 'checkpoint', 'pool_migrate', 'migrate_send'].includes(op) && live) {
    const reason = other['data-cant-suspend-reason']
    if (reason !== undefined) return fault('VM_NON_SUSPENDABLE', ref, reason)
    if (!implicit && strict && lacks('feature-suspend')) return fault('VM_LACKS_FEATURE', ref)
    return undefined
  }
  if (implicit) return undefined
  if (op === 'clean_shutdown' && strict && lacks('feature-shutdown') && lacks('feature-poweroff')) return fault('VM_LACKS_FEATURE', ref)
  if (op === 'clean_reboot' && strict && lacks('feature-shutdown') && lacks('feature-reboot')) return fault('VM_LACKS_FEATURE', ref)
  if (op === 'changing_VCPUs_live' && lacks('feature-vcpu-hotplug')) return fault('VM_LACKS_FEATURE', ref)
  return undefined
}

/** check_operation_error: the first reason `op` is refused, or undefined. */
export function operationError(ref: string, vm: Readonly<XRecord>, op: string, store?: Store, strict = false): XapiFault | undefined {
  const blocked = vm.blocked_operations as Record<string, string>
  if (op in blocked) return fault('OPERATION_BLOCKED', ref, blocked[op] ?? '')
  const allowed = allowedPowerStates(vm, op)
  if (!allowed.includes(String(vm.power_state))) {
    return fault('VM_BAD_POWER_STATE', ref, allowed.map((s) => s.toLowerCase()).join(', '), String(vm.power_state).toLowerCase())
  }
  const current = Object.entries(vm.current_operations as Record<string, string>)
  if (
    current.length > 0 &&
    !allowedConcurrently(
      op,
      current.map(([, o]) => o),
    )
  ) {
    // report_concurrent_operations_error: one operation as itself, several as "{a,b}" lists.
    const [tasks, ops] = current.length === 1 ? current[0]! : [`{${current.map(([t]) => t).join(',')}}`, `{${current.map(([, o]) => o).join(',')}}`]
    return fault('OTHER_OPERATION_IN_PROGRESS', 'VM', ref, ops, tasks)
  }
  const other = vm.other_config as Record<string, string>
  if (vm.is_a_template && !vm.is_a_snapshot) {
    const defaultTemplate = vm.is_default_template === true || truthy(other.default_template)
    const ok = TEMPLATE_OK.has(op) || ((op === 'destroy' || op === 'migrate_send') && !defaultTemplate)
    if (!ok) return fault('VM_IS_TEMPLATE', ref, op)
  }
  if (vm.is_a_snapshot && !SNAPSHOT_OK.has(op)) return fault('VM_IS_SNAPSHOT', ref, op)
  if (op === 'provision' && !vm.is_a_template) return fault('ONLY_PROVISION_TEMPLATE')
  if (op === 'revert' && !vm.is_a_snapshot) return fault('ONLY_REVERT_SNAPSHOT')
  const platform = vm.platform as Record<string, string>
  if (['suspend', 'checkpoint', 'pool_migrate', 'migrate_send'].includes(op) && strict && (truthy(platform.nomigrate) || truthy(platform['nested-virt']))) {
    return fault('VM_IS_IMMOBILE', ref)
  }
  if (vm.is_control_domain) {
    const dom0 = vm.domid === 0
    if (dom0 && (op === 'changing_VCPUs' || op === 'destroy')) return fault('OPERATION_NOT_ALLOWED', 'This operation is not allowed on dom0')
    if (!CONTROL_DOMAIN_OK.has(op)) return fault('OPERATION_NOT_ALLOWED', 'This operation is not allowed on a control domain')
  }
  const feature = featureError(store, ref, vm, op, strict)
  if (feature) return feature
  if (op === 'snapshot_with_quiesce') return fault('VM_SNAPSHOT_WITH_QUIESCE_NOT_SUPPORTED', ref)
  if (store && ['checkpoint', 'snapshot', 'suspend', 'snapshot_with_quiesce'].includes(op) && resetOnBoot(store, vm)) {
    return fault('VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION')
  }
  if (op === 'query_services' && !truthy(other.is_system_domain)) return fault('NOT_SYSTEM_DOMAIN', ref)
  if (op === 'create_vtpm' && (vm.VTPMs as string[]).length > 0) return fault('VTPM_MAX_AMOUNT_REACHED', String((vm.VTPMs as string[]).length))
  return undefined
}

function resetOnBoot(store: Store, vm: Readonly<XRecord>): boolean {
  return (vm.VBDs as string[]).some((vbd) => {
    const vdi = String(store.get('VBD', vbd).VDI)
    return store.classOf(vdi) === 'VDI' && (store.get('VDI', vdi).sm_config as Record<string, string>).on_boot === 'reset'
  })
}

export function assertOperation(ref: string, vm: Readonly<XRecord>, op: string, store?: Store): void {
  const e = operationError(ref, vm, op, store)
  if (e) throw e
}

/** Operations update_allowed_operations never lists (xapi_vm_lifecycle ignored_ops). */
const IGNORED = new Set([
  'create_template',
  'power_state_reset',
  'csvm',
  'get_boot_record',
  'send_sysrq',
  'send_trigger',
  'query_services',
  'shutdown',
  'call_plugin',
  'changing_memory_live',
  'awaiting_memory_live',
  'changing_memory_limits',
  'changing_shadow_memory_live',
  'changing_VCPUs',
  'assert_operation_valid',
  'data_source_op',
  'update_allowed_operations',
  'import',
  'reverting',
])

/** update_allowed_operations: every operation the strict check lets through, in xapi's (reversed fold) order. */
export function allowedOperations(store: Store, ref: string): string[] {
  const vm = store.get('VM', ref)
  const ops = (datamodel.enums.vm_operations ?? []).filter((op) => !IGNORED.has(op))
  return ops.filter((op) => operationError(ref, vm, op, store, true) === undefined).reverse()
}
