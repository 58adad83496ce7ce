import { randomUUID } from 'node:crypto'
import { fault } from '../fault.js'
import type { Ctx, Handlers } from '../context.js'
import { NULL_REF, type Value, type XRecord } from '../datamodel/model.js'
import { assertOperation } from './vm-lifecycle.js'
import { provisionDisks } from './vm-provision.js'
import { runBootloader } from './vm-boot.js'
import { assertPvBuildable, checkPlatform, firmwareOf, platformAtStart } from './vm-domain.js'
import { isCancelling } from './task.js'
import { cloneVdi } from './vdi.js'
import { constructorFields } from './generic.js'
import { createVmMetrics, destroyVmMetrics, haltVmMetrics, startVmMetrics } from './vm-metrics.js'
import { scheduleGuestBoot } from '../guest/boot.js'

const VCPU_RULE = 'VCPU values must satisfy: 0 < VCPUs_at_startup \u2264 VCPUs_max'

/** Fields VM.clone resets rather than copies (xapi_vm_clone.ml copy_vm_record). */
const CLONE_RESETS: Partial<XRecord> = {
  power_state: 'Halted',
  is_default_template: false,
  parent: NULL_REF,
  suspend_VDI: NULL_REF,
  suspend_SR: NULL_REF,
  resident_on: NULL_REF,
  scheduled_to_be_resident_on: NULL_REF,
  ha_always_run: false,
  appliance: NULL_REF,
  protection_policy: NULL_REF,
  start_delay: 0,
  shutdown_delay: 0,
  order: 0,
  version: 0,
  domid: -1,
  VBDs: [],
  VIFs: [],
  current_operations: {},
  snapshots: [],
  children: [],
  consoles: [],
}

function vm(c: Ctx, ref: Value | undefined): { ref: string; rec: Readonly<XRecord> } {
  const r = String(ref)
  return { ref: r, rec: c.store.get('VM', r) }
}

/** VM.clone, and VM.copy with `disk` copying each VDI in full instead (vm-copy.ts). */
export function cloneVm(c: Ctx, src: Value | undefined, name: Value | undefined, disk: (vdi: string) => string = (v) => cloneVdi(c, v), op = 'clone'): string {
  const { ref, rec } = vm(c, src)
  assertOperation(ref, rec, op)
  const other = { ...(rec.other_config as Record<string, string>) }
  delete other.default_template
  delete other.xensource_internal
  other.mac_seed = randomUUID()
  other.base_template_name ??= String(rec.name_label)
  const copy: XRecord = { ...structuredClone(rec as XRecord), ...structuredClone(CLONE_RESETS as XRecord) }
  delete copy.uuid
  const newRef = c.store.create('VM', {
    ...copy,
    name_label: String(name),
    other_config: other,
    generation_id: `0:${randomUUID()}`,
  })
  for (const vbd of rec.VBDs as string[]) {
    const v = c.store.get('VBD', vbd)
    let vdi = String(v.VDI)
    // A CD's ISO is shared, not cloned (xapi_vm_clone clone_single_vdi skips CDs).
    if (vdi !== NULL_REF && v.type !== 'CD') vdi = disk(vdi)
    c.store.create('VBD', { ...structuredClone(v as XRecord), uuid: undefined, VM: newRef, VDI: vdi, currently_attached: false })
  }
  for (const vif of rec.VIFs as string[]) {
    const v = c.store.get('VIF', vif)
    c.store.create('VIF', { ...structuredClone(v as XRecord), uuid: undefined, VM: newRef, currently_attached: false })
  }
  createVmMetrics(c.store, newRef)
  return newRef
}

function setMemoryLimits(c: Ctx, [self, smin, smax, dmin, dmax]: Value[]): void {
  const { ref, rec } = vm(c, self)
  assertOperation(ref, rec, 'changing_memory_limits')
  const [a, b, d1, d2] = [smin, smax, dmin, dmax].map(Number) as [number, number, number, number]
  // DMC is always licensed on XCP-ng: static_min <= dynamic_min <= dynamic_max <= static_max.
  if (!(a <= d1 && d1 <= d2 && d2 <= b)) throw fault('MEMORY_CONSTRAINT_VIOLATION_ORDER')
  c.store.update('VM', ref, {
    memory_static_min: a,
    memory_static_max: b,
    memory_dynamic_min: d1,
    memory_dynamic_max: d2,
    memory_target: d1,
  })
}

function setVcpusMax(c: Ctx, [self, n]: Value[]): void {
  const { ref, rec } = vm(c, self)
  assertOperation(ref, rec, 'changing_VCPUs')
  const v = Number(n)
  if (v < 1 || v < Number(rec.VCPUs_at_startup)) throw fault('INVALID_VALUE', VCPU_RULE, v)
  c.store.update('VM', ref, { VCPUs_max: v })
}

function setVcpusAtStartup(c: Ctx, [self, n]: Value[]): void {
  const { ref, rec } = vm(c, self)
  const v = Number(n)
  if (v < 1 || v > Number(rec.VCPUs_max)) throw fault('INVALID_VALUE', VCPU_RULE, v)
  c.store.update('VM', ref, { VCPUs_at_startup: v })
}

/** assert_can_boot_here's validate_basic_parameters, in XAPI's order. */
function validateForStart(ref: string, rec: Readonly<XRecord>): void {
  const max = Number(rec.VCPUs_max)
  const atStartup = Number(rec.VCPUs_at_startup)
  if (max < 1) throw fault('INVALID_VALUE', 'VCPUs_max', max)
  if (atStartup < 1) throw fault('INVALID_VALUE', 'VCPUs-at-startup', atStartup)
  if (atStartup > max) throw fault('VALUE_NOT_SUPPORTED', 'VCPUs-at-startup', atStartup, 'value greater than VCPUs-max')
  if (Number(rec.memory_static_max) < Number(rec.memory_static_min) || Number(rec.memory_dynamic_max) < Number(rec.memory_dynamic_min)) {
    throw fault('MEMORY_CONSTRAINT_VIOLATION')
  }
  void ref
}

/**
 * Xapi_vm_helpers.choose_host_for_vm without WLB: only hosts that see every SR of the
 * VM's disks can run it (a Local storage disk pins it to that host); among them the
 * affinity host when it is one, else (where xapi picks at random, weighted by free
 * memory) the host that was asked, else the first by name, so tests are repeatable.
 */
function chooseHost(c: Ctx, rec: Readonly<XRecord>): string {
  const srs = new Set<string>()
  for (const vbd of rec.VBDs as string[]) {
    const b = c.store.get('VBD', vbd)
    if (b.empty !== true && c.store.has(String(b.VDI))) srs.add(String(c.store.get('VDI', String(b.VDI)).SR))
  }
  const sees = (host: string): boolean => [...srs].every((sr) => c.store.find('PBD', (p) => p.SR === sr && p.host === host && p.currently_attached === true).length > 0)
  const hosts = c.store.find('host', () => true).sort(([, a], [, b]) => String(a.name_label).localeCompare(String(b.name_label)))
  const able = hosts.map(([ref]) => ref).filter(sees)
  const affinity = String(rec.affinity)
  const host = able.find((h) => h === affinity) ?? able.find((h) => h === c.sim.host) ?? able[0]
  if (!host) throw fault('NO_HOSTS_AVAILABLE')
  return host
}

/** VM.start, and VM.start_on with `on` (vm-power.ts): that host must see the VM's disks. */
export async function start(c: Ctx, [self, paused]: Value[], on?: string): Promise<void> {
  const { ref, rec: before } = vm(c, self)
  assertOperation(ref, before, 'start')
  // Xapi_vm.start: an unspecified domain_type is derived, the platform map updated first.
  if (before.domain_type === 'unspecified') c.store.update('VM', ref, { domain_type: before.HVM_boot_policy === '' ? 'pv' : 'hvm' })
  const platform = platformAtStart(c, c.store.get('VM', ref))
  c.store.update('VM', ref, { platform })
  const rec = c.store.get('VM', ref)
  validateForStart(ref, rec)
  if (rec.domain_type === 'hvm') checkPlatform(platform, firmwareOf(rec))
  // The host is chosen before the bootloader runs: pygrub runs in that host's dom0.
  const host = on === undefined ? chooseHost(c, rec) : assertSeesDisks(c, ref, rec, on)
  const opTask = c.task ?? `OpaqueRef:${randomUUID()}`
  c.store.update('VM', ref, { current_operations: { [opTask]: 'start' } })
  try {
    // The bootloader reads the disks the way pygrub would; a disk it cannot boot fails here.
    const kernel = await runBootloader(c, ref)
    if (isCancelling(c.store, c.task)) throw fault('TASK_CANCELLED', c.task ?? '')
    // The domain builder sees the kernel pygrub extracted; a release without PV stops here.
    assertPvBuildable(c, rec, c.sim.life.lastDomid + 1, kernel)
  } finally {
    c.store.update('VM', ref, { current_operations: {} })
  }
  const domid = ++c.sim.life.lastDomid
  for (const vbd of rec.VBDs as string[]) c.store.update('VBD', vbd, { currently_attached: true })
  for (const vif of rec.VIFs as string[]) c.store.update('VIF', vif, { currently_attached: true })
  c.store.update('VM', ref, {
    power_state: paused ? 'Paused' : 'Running',
    resident_on: host,
    domid,
  })
  startVmMetrics(c.store, ref)
  scheduleGuestBoot(c, ref)
}

/** Xapi_vm_helpers.assert_can_see_SRs for the host start_on names: VM_REQUIRES_SR [vm, sr] for the first SR it lacks. */
function assertSeesDisks(c: Ctx, ref: string, rec: Readonly<XRecord>, host: string): string {
  c.store.get('host', host)
  for (const vbd of rec.VBDs as string[]) {
    const b = c.store.get('VBD', vbd)
    if (b.empty === true || !c.store.has(String(b.VDI))) continue
    const sr = String(c.store.get('VDI', String(b.VDI)).SR)
    if (c.store.find('PBD', (p) => p.SR === sr && p.host === host && p.currently_attached === true).length === 0) throw fault('VM_REQUIRES_SR', ref, sr)
  }
  return host
}

export function hardShutdown(c: Ctx, [self]: Value[], op = 'hard_shutdown'): void {
  const { ref, rec } = vm(c, self)
  assertOperation(ref, rec, op)
  for (const vbd of rec.VBDs as string[]) c.store.update('VBD', vbd, { currently_attached: false })
  for (const vif of rec.VIFs as string[]) c.store.update('VIF', vif, { currently_attached: false })
  c.store.update('VM', ref, { power_state: 'Halted', resident_on: NULL_REF, domid: -1 })
  haltVmMetrics(c.store, ref)
}

/** VM.destroy removes the VM's VBDs and VIFs but never its VDIs. */
function destroy(c: Ctx, [self]: Value[]): void {
  const { ref, rec } = vm(c, self)
  assertOperation(ref, rec, 'destroy')
  for (const vbd of rec.VBDs as string[]) c.store.destroy('VBD', vbd)
  for (const vif of rec.VIFs as string[]) c.store.destroy('VIF', vif)
  destroyVmMetrics(c.store, ref)
  c.store.destroy('VM', ref)
}

export const vmHandlers: Handlers = {
  'VM.create': (c, [rec]) => {
    const f = constructorFields('VM', rec)
    // Xapi_vm.create derives an unspecified domain_type from HVM_boot_policy.
    if (f.domain_type === undefined || f.domain_type === 'unspecified') f.domain_type = f.HVM_boot_policy === '' ? 'pv' : 'hvm'
    const ref = c.store.create('VM', f)
    createVmMetrics(c.store, ref)
    return ref
  },
  'VM.clone': (c, [src, name]) => cloneVm(c, src, name),
  'VM.provision': (c, [self]) => {
    const { ref, rec } = vm(c, self)
    assertOperation(ref, rec, 'provision')
    if (!rec.is_a_template) throw fault('ONLY_PROVISION_TEMPLATE')
    provisionDisks(c, ref)
  },
  'VM.set_HVM_boot_policy': (c, [self, v]) => {
    const { ref } = vm(c, self)
    // Setting the policy also derives domain_type (Xapi_vm_helpers.derive_domain_type).
    c.store.update('VM', ref, { HVM_boot_policy: String(v), domain_type: v === '' ? 'pv' : 'hvm' })
  },
  'VM.set_domain_type': (c, [self, v]) => {
    const { ref } = vm(c, self)
    if (v === 'unspecified') throw fault('INVALID_VALUE', 'domain_type', 'unspecified')
    c.store.update('VM', ref, { domain_type: String(v), HVM_boot_policy: v === 'hvm' ? 'BIOS order' : '' })
  },
  'VM.set_memory_limits': (c, args) => setMemoryLimits(c, args),
  'VM.set_VCPUs_max': (c, args) => setVcpusMax(c, args),
  'VM.set_VCPUs_at_startup': (c, args) => setVcpusAtStartup(c, args),
  'VM.start': (c, args) => start(c, args),
  'VM.hard_shutdown': (c, args) => hardShutdown(c, args),
  // The simulated guest always honours the request: a clean shutdown ends like a hard one, from Running only.
  'VM.clean_shutdown': (c, args) => {
    const { ref, rec } = vm(c, args[0])
    assertOperation(ref, rec, 'clean_shutdown')
    hardShutdown(c, args)
  },
  'VM.destroy': (c, args) => destroy(c, args),
  'VM.get_allowed_VIF_devices': (c, [self]) => {
    const used = new Set((vm(c, self).rec.VIFs as string[]).map((v) => String(c.store.get('VIF', v).device)))
    return Array.from({ length: 16 }, (_, i) => String(i)).filter((d) => !used.has(d))
  },
}
