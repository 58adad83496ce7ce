import type { Ctx } from '../context.js'
import { guestWorld, type DhcpRange } from './world.js'

/** The addresses one VIF ends up with inside the guest. */
export interface NicAddresses {
  device: string
  mac: string
  ipv4: string[]
  ipv6: string[]
}

interface Wanted {
  dhcp: boolean
  addresses: string[]
}

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
const bare = (a: string): string => a.split('/')[0]!

/**
 * What the network config asks of each interface, in the order cloud-init (and nuageinit)
 * would configure them: v1 `config` physical entries, v2 `ethernets`. An entry names its
 * VIF by MAC (v1 mac_address, v2 match.macaddress) or, failing that, by position.
 */
function wantedByNic(config: Record<string, unknown> | undefined, nics: { mac: string }[]): Wanted[] {
  // No network config: the guest's own default, DHCP on every interface (official images' ifconfig_DEFAULT=DHCP).
  if (!config) return nics.map(() => ({ dhcp: true, addresses: [] }))
  const out: Wanted[] = nics.map(() => ({ dhcp: false, addresses: [] }))
  const entries: { mac?: string; w: Wanted }[] = []
  if (config.version === 1 && Array.isArray(config.config)) {
    for (const e of config.config as Record<string, unknown>[]) {
      if (e.type !== 'physical') continue
      const subnets = Array.isArray(e.subnets) ? (e.subnets as Record<string, unknown>[]) : []
      entries.push({
        ...(typeof e.mac_address === 'string' ? { mac: e.mac_address } : {}),
        w: { dhcp: subnets.some((s) => s.type === 'dhcp' || s.type === 'dhcp4'), addresses: subnets.filter((s) => s.type === 'static' && typeof s.address === 'string').map((s) => String(s.address)) },
      })
    }
  } else if (config.version === 2 && config.ethernets && typeof config.ethernets === 'object') {
    for (const e of Object.values(config.ethernets as Record<string, Record<string, unknown>>)) {
      const match = (e.match ?? {}) as Record<string, unknown>
      entries.push({
        ...(typeof match.macaddress === 'string' ? { mac: match.macaddress } : {}),
        w: { dhcp: e.dhcp4 === true || e.dhcp4 === 'true', addresses: Array.isArray(e.addresses) ? e.addresses.map(String) : [] },
      })
    }
  }
  let next = 0
  for (const e of entries) {
    const i = e.mac ? nics.findIndex((n) => n.mac.toLowerCase() === e.mac!.toLowerCase()) : next++
    if (i >= 0 && i < nics.length) out[i] = e.w
  }
  return out
}

function lease(range: DhcpRange, mac: string, leases: Map<string, string>): string | undefined {
  const held = leases.get(mac)
  if (held) return held
  const taken = new Set(leases.values())
  for (let n = toInt(range.first); n <= toInt(range.last); n++) {
    const ip = toIp(n)
    if (taken.has(ip)) continue
    leases.set(mac, ip)
    return ip
  }
  return undefined // the range is exhausted: the guest gets no address, as with a full DHCP pool
}

/** Each VIF's addresses once the guest has configured its network. */
export function configureNetwork(c: Ctx, vm: string, config: Record<string, unknown> | undefined): NicAddresses[] {
  const world = guestWorld(c.store)
  const nics = (c.store.get('VM', vm).VIFs as string[])
    .map((v) => c.store.get('VIF', v))
    .sort((a, b) => Number(a.device) - Number(b.device))
    .map((v) => ({ device: String(v.device), mac: String(v.MAC), bridge: String(c.store.get('network', String(v.network)).bridge) }))
  const wanted = wantedByNic(config, nics)
  return nics.map((nic, i) => {
    const w = wanted[i]!
    const addrs = w.addresses.map(bare)
    const range = world.dhcp.get(nic.bridge)
    const leased = w.dhcp && range ? lease(range, nic.mac, world.leases) : undefined
    const all = [...addrs, ...(leased ? [leased] : [])]
    return { device: nic.device, mac: nic.mac, ipv4: all.filter((a) => !a.includes(':')), ipv6: all.filter((a) => a.includes(':')) }
  })
}
