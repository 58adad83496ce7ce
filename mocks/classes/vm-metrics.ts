import type { Store } from '../store.js'
import { NULL_REF } from '../datamodel/model.js'
import { xapiNow } from '../time.js'

/**
 * VM_metrics: xapi creates one with every VM (Xapi_vm.create, clone) and fills it when the
 * domain starts; VM_guest_metrics exist only once a guest agent has reported
 * (mocks/guest/agent.ts). Both go when the VM is destroyed.
 */
export function createVmMetrics(store: Store, vm: string): void {
  const metrics = store.create('VM_metrics', {
    memory_actual: 0,
    VCPUs_number: 0,
    VCPUs_utilisation: {},
    VCPUs_CPU: {},
    VCPUs_params: {},
    VCPUs_flags: {},
    state: [],
    start_time: '19700101T00:00:00Z',
    install_time: xapiNow(),
    last_updated: '19700101T00:00:00Z',
    other_config: {},
  })
  store.update('VM', vm, { metrics })
}

/** What xenopsd reports once the domain runs: its memory, VCPUs, type and start time. */
export function startVmMetrics(store: Store, vm: string): void {
  const rec = store.get('VM', vm)
  let metrics = String(rec.metrics)
  if (metrics === NULL_REF || !store.has(metrics)) {
    createVmMetrics(store, vm)
    metrics = String(store.get('VM', vm).metrics)
  }
  const n = Number(rec.VCPUs_at_startup)
  store.update('VM_metrics', metrics, {
    memory_actual: Number(rec.memory_dynamic_max),
    VCPUs_number: n,
    VCPUs_utilisation: Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), 0])),
    start_time: xapiNow(),
    last_updated: xapiNow(),
    hvm: rec.domain_type === 'hvm',
    current_domain_type: String(rec.domain_type),
  })
}

/** On halt the guest's report goes (xapi clears guest_metrics on shutdown) and the domain type is unknown again. */
export function haltVmMetrics(store: Store, vm: string): void {
  const rec = store.get('VM', vm)
  dropGuestMetrics(store, vm)
  const metrics = String(rec.metrics)
  if (store.has(metrics)) store.update('VM_metrics', metrics, { current_domain_type: 'unspecified', memory_actual: 0, VCPUs_number: 0, VCPUs_utilisation: {}, last_updated: xapiNow() })
}

export function dropGuestMetrics(store: Store, vm: string): void {
  const gm = String(store.get('VM', vm).guest_metrics)
  store.update('VM', vm, { guest_metrics: NULL_REF })
  if (store.has(gm)) store.destroy('VM_guest_metrics', gm)
}

/** VM.destroy takes both metrics objects with it. */
export function destroyVmMetrics(store: Store, vm: string): void {
  dropGuestMetrics(store, vm)
  const metrics = String(store.get('VM', vm).metrics)
  if (store.has(metrics)) store.destroy('VM_metrics', metrics)
}
