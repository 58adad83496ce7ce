import type { Store } from '../store.js'
import { NULL_REF, type Value } from '../datamodel/model.js'
import { allowedOperations } from './vm-lifecycle.js'
import { allowedFrom, vbdOperationErrors, vifOperationErrors } from './device-operations.js'

/**
 * Values xapi keeps in step with a VM's state whatever changed it (a call, the simulated
 * guest's report, a fault action): allowed_operations of the VM and its VBDs and VIFs
 * (update_allowed_operations), VBD.device once the disk is attached, and one console
 * while a domain exists (xapi_xenops creates it when the domain appears and removes it
 * when the domain goes). Registered once per store; runs after every create and update.
 */
export function keepDerivedValues(store: Store): void {
  store.onChange((cls, ref) => {
    if (!store.has(ref)) return
    if (cls === 'VM') return refreshVm(store, ref)
    if (cls === 'VBD' || cls === 'VIF') return refreshVm(store, String(store.get(cls, ref).VM))
    if (cls === 'VM_guest_metrics' || cls === 'VM_metrics') {
      const field = cls === 'VM_metrics' ? 'metrics' : 'guest_metrics'
      const owner = store.find('VM', (r) => r[field] === ref)[0]
      if (owner) refreshVm(store, owner[0])
    }
  })
}

function setIfChanged(store: Store, cls: string, ref: string, field: string, value: Value): void {
  if (JSON.stringify(store.get(cls, ref)[field]) !== JSON.stringify(value)) store.update(cls, ref, { [field]: value })
}

/**
 * Each rule answers with the XapiFault a call would get; here only "is there one" is
 * read. Capturing a stack for each of the ~40 operations checked after every change
 * was 60 % of a VM.clone's time (bench/simulator.ts), so no stacks while refreshing.
 */
function refreshVm(store: Store, vm: string): void {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    refreshVmRecords(store, vm)
  } finally {
    Error.stackTraceLimit = limit
  }
}

function refreshVmRecords(store: Store, vm: string): void {
  if (store.classOf(vm) !== 'VM') return
  const rec = store.get('VM', vm)
  setIfChanged(store, 'VM', vm, 'allowed_operations', allowedOperations(store, vm))
  for (const vbd of rec.VBDs as string[]) {
    const b = store.get('VBD', vbd)
    if (b.currently_attached === true && b.device === '') store.update('VBD', vbd, { device: deviceName(String(b.userdevice)) })
    setIfChanged(store, 'VBD', vbd, 'allowed_operations', allowedFrom(vbdOperationErrors(store, vbd)))
  }
  for (const vif of rec.VIFs as string[]) setIfChanged(store, 'VIF', vif, 'allowed_operations', allowedFrom(vifOperationErrors(store, vif)))
  keepConsole(store, vm)
}

/** xenopsd's Linux-style name for a userdevice number: 0 -> xvda, 3 -> xvdd. */
export function deviceName(userdevice: string): string {
  if (!/^\d+$/.test(userdevice)) return userdevice
  const n = Number(userdevice)
  const letters = n < 26 ? String.fromCharCode(97 + n) : String.fromCharCode(96 + Math.floor(n / 26)) + String.fromCharCode(97 + (n % 26))
  return `xvd${letters}`
}

function keepConsole(store: Store, vm: string): void {
  const rec = store.get('VM', vm)
  const live = rec.power_state === 'Running' || rec.power_state === 'Paused'
  const consoles = rec.consoles as string[]
  if (live && consoles.length === 0) {
    const host = String(rec.resident_on)
    const address = host !== NULL_REF && store.classOf(host) === 'host' ? String(store.get('host', host).address) : ''
    const ref = store.create('console', { protocol: 'rfb', VM: vm, other_config: {} })
    store.update('console', ref, { location: `https://${address}/console?uuid=${String(store.get('console', ref).uuid)}` })
  } else if (!live) {
    for (const c of consoles) if (store.has(c)) store.destroy('console', c)
  }
}
