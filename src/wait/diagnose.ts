import { evaluate, type Observation } from './observe.js'
import { needsAgent, type Probe } from './probes.js'

/** What the simulator's firmware emulation says about the last boot; real hosts give nothing. */
export interface BootRecord {
  booted: boolean
  reason: string | null
}

export interface Diagnosis {
  /** A stable name for the case, in --json and tests. */
  cause: 'vm-not-running' | 'nothing-to-boot' | 'no-agent' | 'no-address' | 'address-outside-cidr' | 'port-closed' | 'vm-data-missing'
  why: string
  fix: string
}

/**
 * Why the guest is not ready, most basic cause first: a VM that does not run, a
 * firmware that found nothing to boot (simulator only), no agent, an agent without an
 * address, an address outside the CIDR, a closed port, a missing vm-data key.
 */
export function diagnose(probes: Probe[], o: Observation, boot: BootRecord | undefined, waitedMs: number): Diagnosis {
  const secs = `${Math.round(waitedMs / 1000)} s`
  if (o.power_state !== 'Running') {
    return { cause: 'vm-not-running', why: `the VM is ${o.power_state}, not Running`, fix: 'start it (xe vm-start) and read its console for why it stopped' }
  }
  if (boot && !boot.booted) {
    return {
      cause: 'nothing-to-boot',
      why: `the firmware found nothing to boot: ${boot.reason ?? 'no bootable device'}`,
      fix: 'check the image with provision check-image, and boot.order / boot.firmware in the recipe',
    }
  }
  const failing = probes.map((p) => ({ p, v: evaluate(p, o) })).filter((x) => !x.v.ok)
  if (o.networks === undefined && failing.some((x) => needsAgent(x.p))) {
    return {
      cause: 'no-agent',
      why: `no guest agent reported in ${secs} (the VM has no VM_guest_metrics), so XAPI knows none of its addresses`,
      fix: 'install and enable the guest tools in the image (FreeBSD: pkg install xe-guest-utilities; sysrc xenguest_enable=YES), or wait on vm-data:<key> written by the guest with xenstore-write',
    }
  }
  for (const { p, v } of failing) {
    if (v.ok) continue
    if (p.kind === 'ip' && /none in/.test(v.why))
      return { cause: 'address-outside-cidr', why: v.why, fix: `check the network config (static address) or the DHCP range; or wait on another CIDR than ${p.cidr?.text ?? ''}` }
    if (p.kind === 'ip' || p.kind === 'agent')
      return { cause: 'no-address', why: `the agent reported, but ${v.why}`, fix: "check the guest's network config (cloud_init.network_config) or the DHCP server on that network" }
    if (p.kind === 'tcp') return { cause: 'port-closed', why: v.why, fix: `check that the service listening on port ${p.port} starts, and the guest's firewall` }
    return { cause: 'vm-data-missing', why: v.why, fix: `have the guest run "xenstore-write ${p.key} ${p.value ?? '<value>'}" when ready (e.g. in user data runcmd)` }
  }
  return { cause: 'no-address', why: 'the guest did not become ready', fix: 'read the VM console' }
}
