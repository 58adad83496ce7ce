import { fault } from '../fault.js'
import type { Ctx, Handlers } from '../context.js'
import { NULL_REF, type Value, type XRecord } from '../datamodel/model.js'
import { assertOperation } from './vm-lifecycle.js'
import { start } from './vm.js'
import { runBootloader } from './vm-boot.js'
import { dropGuestMetrics, startVmMetrics } from './vm-metrics.js'
import { createVdi, destroyVdi } from './vdi.js'
import { scheduleGuestBoot } from '../guest/boot.js'
import { xapiNow } from '../time.js'

/**
 * The power operations besides start and shutdown (xapi_vm.ml): reboots, suspend and
 * resume, pause, start_on and pool_migrate. Each checks the operation first
 * (xapi_vm_lifecycle order), then changes the domain the way xenopsd reports it back.
 */
function vmOf(c: Ctx, v: Value | undefined, op: string): { ref: string; rec: Readonly<XRecord> } {
  const ref = String(v)
  const rec = c.store.get('VM', ref)
  assertOperation(ref, rec, op, c.store)
  return { ref, rec }
}

function sameHostOrAnother(c: Ctx, host: Value | undefined): string {
  const h = String(host)
  c.store.get('host', h)
  return h
}

/** A reboot is a new domain on the same host: the firmware or pygrub runs again and the guest boots again. */
async function reboot(c: Ctx, self: Value | undefined, op: 'hard_reboot' | 'clean_reboot'): Promise<void> {
  const { ref } = vmOf(c, self, op)
  await runBootloader(c, ref)
  dropGuestMetrics(c.store, ref)
  c.store.update('VM', ref, { domid: ++c.sim.life.lastDomid, power_state: 'Running' })
  startVmMetrics(c.store, ref)
  scheduleGuestBoot(c, ref)
}

/**
 * VM.suspend: the memory image goes to a VDI of type suspend in the VM's suspend_SR, or
 * the pool's suspend_image_SR; the domain goes, the disks stay attached (reserved for
 * resume), and the guest's last report stays (it carries on after resume).
 */
function suspend(c: Ctx, self: Value | undefined): void {
  const { ref, rec } = vmOf(c, self, 'suspend')
  const own = String(rec.suspend_SR)
  const sr = c.store.classOf(own) === 'SR' ? own : String(c.store.get('pool', c.sim.pool).suspend_image_SR)
  if (c.store.classOf(sr) !== 'SR') throw fault('VM_NO_SUSPEND_SR', ref)
  const vdi = createVdi(c, {
    name_label: 'Suspend image',
    name_description: `Suspend image of VM ${String(rec.uuid)}`,
    SR: sr,
    virtual_size: Number(rec.memory_static_max) + 1024 * 1024,
    type: 'suspend',
    sharable: false,
    read_only: false,
    other_config: {},
    sm_config: {},
  })
  c.store.update('VM', ref, { power_state: 'Suspended', suspend_VDI: vdi, resident_on: NULL_REF, domid: -1 })
  const metrics = String(rec.metrics)
  if (c.store.has(metrics)) c.store.update('VM_metrics', metrics, { VCPUs_utilisation: {}, last_updated: xapiNow() })
}

/** VM.resume / resume_on: the image is read back and removed; the guest goes on where it was. */
function resume(c: Ctx, self: Value | undefined, paused: Value | undefined, op: 'resume' | 'resume_on', host?: string): void {
  const { ref, rec } = vmOf(c, self, op)
  const on = host ?? (String(rec.affinity) !== NULL_REF && c.store.has(String(rec.affinity)) ? String(rec.affinity) : c.sim.host)
  const image = String(rec.suspend_VDI)
  c.store.update('VM', ref, { power_state: paused ? 'Paused' : 'Running', resident_on: on, domid: ++c.sim.life.lastDomid, suspend_VDI: NULL_REF })
  if (c.store.classOf(image) === 'VDI') destroyVdi(c, image)
  startVmMetrics(c.store, ref)
}

export const vmPowerHandlers: Handlers = {
  'VM.hard_reboot': (c, [self]) => reboot(c, self, 'hard_reboot'),
  // The simulated guest always honours the request, as it does a clean shutdown.
  'VM.clean_reboot': (c, [self]) => reboot(c, self, 'clean_reboot'),
  'VM.suspend': (c, [self]) => suspend(c, self),
  'VM.resume': (c, [self, paused]) => resume(c, self, paused, 'resume'),
  'VM.resume_on': (c, [self, host, paused]) => resume(c, self, paused, 'resume_on', sameHostOrAnother(c, host)),
  'VM.pause': (c, [self]) => {
    const { ref } = vmOf(c, self, 'pause')
    c.store.update('VM', ref, { power_state: 'Paused' })
  },
  'VM.unpause': (c, [self]) => {
    const { ref } = vmOf(c, self, 'unpause')
    c.store.update('VM', ref, { power_state: 'Running' })
  },
  'VM.start_on': (c, [self, host, paused]) => {
    vmOf(c, self, 'start_on')
    return start(c, [self!, paused!], sameHostOrAnother(c, host))
  },
  /** Live migration inside the pool: a new domain on `host` (the same host is allowed, as xapi's localhost migration). */
  'VM.pool_migrate': (c, [self, host]) => {
    const { ref, rec } = vmOf(c, self, 'pool_migrate')
    const to = sameHostOrAnother(c, host)
    for (const vbd of rec.VBDs as string[]) {
      const b = c.store.get('VBD', vbd)
      if (b.empty === true || c.store.classOf(String(b.VDI)) !== 'VDI') continue
      const sr = String(c.store.get('VDI', String(b.VDI)).SR)
      if (c.store.find('PBD', (p) => p.SR === sr && p.host === to && p.currently_attached === true).length === 0) throw fault('VM_REQUIRES_SR', ref, sr)
    }
    c.store.update('VM', ref, { resident_on: to, domid: ++c.sim.life.lastDomid })
  },
}
