import { inCidr } from './cidr.js'
import type { Probe } from './probes.js'

export const NULL_REF = 'OpaqueRef:NULL'

/** What the wait has seen of the VM so far, from its event snapshots. */
export interface Observation {
  power_state: string
  guest_metrics: string
  /** VM_guest_metrics.networks; undefined until an agent has reported. */
  networks: Record<string, string> | undefined
  xenstore_data: Record<string, string>
  /** The VM's VIF device numbers ("0", "1"…), read once when the wait starts. */
  devices: string[]
  /** tcp:<port> → the last connection attempt. */
  tcp: Map<number, { ip: string; open: boolean; error?: string | undefined }>
}

export type Verdict = { ok: true } | { ok: false; why: string }

const KEY = /^(\d+)\/(ip|ipv4\/\d+|ipv6\/\d+)$/

/** Every address the agent reports, per VIF device, IPv4 first; the legacy "<dev>/ip" only repeats ipv4/0. */
export function addressesByDevice(networks: Record<string, string> | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const keys = Object.keys(networks ?? {})
    .filter((k) => KEY.test(k))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  for (const k of [...keys.filter((k) => !k.includes('ipv6')), ...keys.filter((k) => k.includes('ipv6'))]) {
    const dev = KEY.exec(k)![1]!
    const ip = networks![k]!
    const list = out.get(dev) ?? []
    if (!list.includes(ip)) list.push(ip)
    out.set(dev, list)
  }
  return out
}

/** Addresses a remote client can use: link-local IPv6 (fe80::/10) is not one. */
const usable = (ip: string): boolean => !/^fe[89ab]/i.test(ip)

/** The `ips` of the result: every usable address, device by device. */
export const allIps = (o: Observation): string[] => [...addressesByDevice(o.networks).values()].flat().filter(usable)

/** The address tcp probes connect to: the first usable IPv4 (else IPv6) of the lowest device. */
export const primaryIp = (o: Observation): string | undefined => {
  const ips = allIps(o)
  return ips.find((ip) => !ip.includes(':')) ?? ips[0]
}

export function evaluate(p: Probe, o: Observation): Verdict {
  switch (p.kind) {
    case 'agent':
      return o.networks !== undefined ? { ok: true } : { ok: false, why: 'no guest agent has reported' }
    case 'ip': {
      if (o.networks === undefined) return { ok: false, why: 'no guest agent has reported' }
      const byDev = addressesByDevice(o.networks)
      const devices = p.device !== undefined ? [p.device] : o.devices
      if (devices.length === 0) return { ok: false, why: 'the VM has no network interface' }
      for (const d of devices) {
        const ips = (byDev.get(d) ?? []).filter(usable)
        if (ips.length === 0) return { ok: false, why: `the agent reports no address on VIF ${d}` }
        if (p.cidr && !ips.some((ip) => inCidr(ip, p.cidr!))) return { ok: false, why: `VIF ${d} has ${ips.join(', ')}, none in ${p.cidr.text}` }
      }
      return { ok: true }
    }
    case 'vm-data': {
      const v = o.xenstore_data[p.key]
      if (v === undefined) return { ok: false, why: `${p.key} is not in the VM's xenstore data` }
      if (p.value !== undefined && v !== p.value) return { ok: false, why: `${p.key} is "${v}", not "${p.value}"` }
      return { ok: true }
    }
    case 'tcp': {
      const t = o.tcp.get(p.port)
      if (!t) return { ok: false, why: primaryIp(o) ? `port ${p.port} not tried yet` : 'no address to connect to' }
      return t.open ? { ok: true } : { ok: false, why: `${t.ip}:${p.port} does not accept connections (${t.error ?? 'closed'})` }
    }
  }
}
