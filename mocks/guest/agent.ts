import type { Ctx } from '../context.js'
import { xapiNow } from '../time.js'
import type { NicAddresses } from './network.js'

/**
 * What xapi makes of a guest agent's xenstore report (xapi_guest_agent.ml): the agent
 * writes attr/vif/<dev>/ipv4/<n>, and xapi lists it in VM_guest_metrics.networks as
 * "<dev>/ipv4/<n>", plus the legacy "<dev>/ip" (the first IPv4 address) and
 * "<dev>/ipv6/<n>"; os_version and PV_drivers_version come from data/os_* and
 * drivers/*. The record is created once and updated in place, as xapi does.
 */
export function reportGuest(c: Ctx, vm: string, nics: NicAddresses[], os: { name: string; uname: string; distro: string; major: string; minor: string }): void {
  const networks: Record<string, string> = {}
  for (const nic of nics) {
    if (nic.ipv4[0]) networks[`${nic.device}/ip`] = nic.ipv4[0]
    nic.ipv4.forEach((a, i) => (networks[`${nic.device}/ipv4/${i}`] = a))
    nic.ipv6.forEach((a, i) => (networks[`${nic.device}/ipv6/${i}`] = a))
  }
  const fields = {
    os_version: { name: os.name, uname: os.uname, distro: os.distro, major: os.major, minor: os.minor },
    // xe-guest-utilities reports its own version as the "PV drivers" of a Linux or BSD guest.
    PV_drivers_version: { major: '8', minor: '4', micro: '0', build: '1' },
    PV_drivers_up_to_date: true,
    PV_drivers_detected: true,
    networks,
    other: { 'feature-shutdown': '1', 'feature-poweroff': '1', 'feature-reboot': '1', has_vendor_device: '0' },
    last_updated: xapiNow(),
    live: true,
    can_use_hotplug_vbd: 'yes',
    can_use_hotplug_vif: 'yes',
  }
  const current = String(c.store.get('VM', vm).guest_metrics)
  if (c.store.has(current)) c.store.update('VM_guest_metrics', current, fields)
  else c.store.update('VM', vm, { guest_metrics: c.store.create('VM_guest_metrics', { ...fields, memory: {}, disks: {}, other_config: {} }) })
}
