import type { Store } from '../store.js'

/** A network's DHCP server, as the inventory describes it: the range it leases from. */
export interface DhcpRange {
  /** The subnet, e.g. 10.0.0.0/24: a leased address comes with its prefix length. */
  cidr: string
  first: string
  last: string
}

/**
 * What the simulated guests of one simulator share and XAPI's database does not hold:
 * how long a boot takes, the DHCP range of each network (by bridge), and the leases
 * handed out (by MAC, so a VM keeps its address across reboots, as a DHCP server does).
 */
export interface GuestWorld {
  bootMs: number
  dhcp: Map<string, DhcpRange>
  leases: Map<string, string>
}

/** Default time from VM.start to the guest's first report: short, so tests wait little. */
export const DEFAULT_BOOT_MS = 300

const worlds = new WeakMap<Store, GuestWorld>()

export function configureGuests(store: Store, o: { bootMs?: number | undefined; networks: { bridge: string; dhcp?: DhcpRange | undefined }[] }): GuestWorld {
  const world: GuestWorld = {
    bootMs: o.bootMs ?? DEFAULT_BOOT_MS,
    dhcp: new Map(o.networks.flatMap((n) => (n.dhcp ? [[n.bridge, n.dhcp] as const] : []))),
    leases: new Map(),
  }
  worlds.set(store, world)
  return world
}

export function guestWorld(store: Store): GuestWorld {
  return worlds.get(store) ?? configureGuests(store, { networks: [] })
}
