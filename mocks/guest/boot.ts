import { preflightHvm } from '../../src/preflight/hvm.js'
import { runcmdLines } from '../../src/cloud-init/user-data.js'
import type { Ctx } from '../context.js'
import { guestWorld } from './world.js'
import { readSeed } from './seed.js'
import { configureNetwork } from './network.js'
import { reportGuest } from './agent.js'

/** Codes of the HVM preflight meaning the guest agent will not run (src/preflight/hvm-guest.ts). */
const NO_AGENT = new Set(['no-guest-tools', 'guest-tools-off', 'guest-unchecked'])

/** The disk the guest booted from: the firmware's choice (HVM) or the bootable disk pygrub read (PV, PVH). */
function bootDisk(c: Ctx, vm: string): string | undefined {
  const rec = c.store.get('VM', vm)
  const vbds = (rec.VBDs as string[]).map((v) => c.store.get('VBD', v)).filter((v) => v.type === 'Disk' && v.empty !== true)
  if (rec.domain_type === 'hvm') {
    const last = (c.sim.consoles.get(vm) ?? []).at(-1)
    if (!last?.booted) return undefined // the firmware found nothing: no guest runs
    return String(vbds.find((v) => `disk ${String(v.userdevice)}` === last.device)?.VDI ?? '')
  }
  return String(vbds.find((v) => v.bootable === true)?.VDI ?? '')
}

/**
 * Guest tools are installed and enabled when the boot disk's root holds them, by the
 * HVM preflight's own rule: xe-daemon or rc.d/xenguest present and xenguest_enable=YES
 * in /etc/rc.conf. A root the preflight cannot read counts as without tools.
 */
function hasGuestTools(c: Ctx, vdi: string): boolean {
  const disk = c.sim.disks.get(vdi)
  if (!disk) return false
  const report = preflightHvm((o, n) => disk.read(o, n), disk.size)
  return report.root !== null && !report.warnings.some((w) => NO_AGENT.has(w.code))
}

const XENSTORE_WRITE = /^xenstore-write\s+(vm-data\/\S+)\s+(.*)$/

/**
 * After VM.start: the guest "boots" once the world's boot delay has passed (a fault rule
 * on the pseudo-method "guest.boot" slows it with delayMs, stalls it with hold, or
 * crashes it with error), then reads its config drive, configures its network, runs the
 * user data's xenstore-write lines (which xapi mirrors into VM.xenstore_data) and, if it
 * has guest tools, reports through VM_guest_metrics. A guest that was stopped or
 * restarted meanwhile does nothing.
 */
export function scheduleGuestBoot(c: Ctx, vm: string): void {
  const domid = c.store.get('VM', vm).domid
  const vdi = bootDisk(c, vm)
  if (!vdi) return
  const stillUp = (): boolean => c.store.has(vm) && c.store.get('VM', vm).power_state === 'Running' && c.store.get('VM', vm).domid === domid
  const timer = setTimeout(() => {
    c.sim.faults
      .before('guest.boot')
      .then(() => {
        if (stillUp() && !c.sim.life.closing) boot(c, vm, vdi)
      })
      .catch(() => undefined) // an injected error: the guest crashed during boot and reports nothing
  }, guestWorld(c.store).bootMs)
  timer.unref()
}

function boot(c: Ctx, vm: string, vdi: string): void {
  const seed = readSeed(c, vm)
  const nics = configureNetwork(c, vm, seed?.networkConfig)
  const writes = (seed?.userData ? runcmdLines(seed.userData) : []).map((l) => XENSTORE_WRITE.exec(l.trim())).filter((m) => m !== null)
  if (writes.length > 0) {
    const data = { ...(c.store.get('VM', vm).xenstore_data as Record<string, string>) }
    for (const m of writes) data[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2')
    c.store.update('VM', vm, { xenstore_data: data })
  }
  if (hasGuestTools(c, vdi)) reportGuest(c, vm, nics, { name: 'FreeBSD (simulated guest)', uname: 'simulated', distro: 'freebsd', major: '14', minor: '0' })
}
