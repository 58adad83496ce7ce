import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { FaultActionSchema, FaultRuleSchema } from './fault-rules.js'
import { PROFILE_NAMES } from './profiles.js'

/** A simulated release (mocks/profiles.ts); default xcp-ng-8.3. */
export const ProfileName = z.enum(PROFILE_NAMES as [string, ...string[]])

/**
 * The inventory file for `provision sim --inventory`: pools of hosts, each host on its
 * own loopback address, with its own "Local storage" SR, plus the pool's shared SRs and
 * networks, and faults armed from the start. YAML or JSON; validated here, once.
 */
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }
const Size = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|TiB)$/, 'a size such as 500GiB or 2TiB')
    .transform((s) => Math.round(parseFloat(s) * UNITS[/[A-Za-z]+$/.exec(s)![0]]!)),
])

export const HostSpec = z
  .object({
    name: z.string().min(1),
    /** A loopback address to listen on; the xen-api client follows HOST_IS_SLAVE by address, keeping the port. */
    address: z.string().default('127.0.0.1'),
    localSrSize: Size.default(500 * 1024 ** 3),
    master: z.boolean().default(false),
    /** PEM key and certificate: the host then serves HTTPS, and host.get_server_certificate returns the certificate. */
    tls: z
      .object({ key: z.string().min(1), cert: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict()

export const SrSpec = z.object({ name: z.string().min(1), type: z.string().default('nfs'), size: Size }).strict()
const Ipv4 = z.ipv4()
/** The network's DHCP server for the simulated guests (mocks/guest/network.ts): the subnet and the range it leases from. */
export const DhcpSpec = z.object({ cidr: z.cidrv4(), first: Ipv4, last: Ipv4 }).strict()
export const NetworkSpec = z.object({ name: z.string().min(1), bridge: z.string().min(1), mtu: z.number().int().min(68).max(9216).default(1500), dhcp: DhcpSpec.optional() }).strict()
/** The default network leases 10.0.0.100-199 to guests, so `--wait ip` works on `--host sim` out of the box. */
export const DEFAULT_DHCP = { cidr: '10.0.0.0/24', first: '10.0.0.100', last: '10.0.0.199' }

export const PoolSpec = z
  .object({
    name: z.string().default(''),
    profile: ProfileName.optional(),
    hosts: z.array(HostSpec).min(1),
    srs: z.array(SrSpec).default([]),
    networks: z.array(NetworkSpec).default([{ name: 'Pool-wide network associated with eth0', bridge: 'xenbr0', mtu: 1500, dhcp: DEFAULT_DHCP }]),
    /** Milliseconds from VM.start to a simulated guest's first report (mocks/guest/boot.ts). */
    guestBootMs: z.number().int().min(0).max(600_000).optional(),
    faults: z.array(z.union([FaultRuleSchema, FaultActionSchema])).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const masters = p.hosts.filter((h) => h.master).length
    if (masters > 1) ctx.addIssue({ code: 'custom', message: 'at most one host is master (default: the first)' })
    const names = p.hosts.map((h) => h.name)
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'host names must be unique in a pool' })
  })

export const InventoryFileSchema = z
  .object({
    credentials: z
      .object({ user: z.string().min(1), password: z.string() })
      .strict()
      .optional(),
    pygrub: z.enum(['upstream', 'xcp-ng']).optional(),
    /** The release of every pool that names none itself. */
    profile: ProfileName.optional(),
    pools: z.array(PoolSpec).min(1),
  })
  .strict()
  .superRefine((inv, ctx) => {
    // Every host of every pool shares one port, so addresses must not repeat.
    const addresses = inv.pools.flatMap((p) => p.hosts.map((h) => h.address))
    if (new Set(addresses).size !== addresses.length) ctx.addIssue({ code: 'custom', message: 'each host needs its own address (127.0.0.1, 127.0.0.2, …)' })
  })

export type HostSpecT = z.infer<typeof HostSpec>
export type PoolSpecT = z.infer<typeof PoolSpec>
export type InventoryFile = z.infer<typeof InventoryFileSchema>

/** One pool, one host on 127.0.0.1: what `provision sim` serves without --inventory. */
export function defaultPool(overrides: { hostName?: string; address?: string; localSrSize?: number } = {}): PoolSpecT {
  return PoolSpec.parse({
    hosts: [{ name: overrides.hostName ?? 'xcp1', address: overrides.address ?? '127.0.0.1', ...(overrides.localSrSize ? { localSrSize: overrides.localSrSize } : {}) }],
  })
}

export class InventoryError extends Error {
  override name = 'InventoryError'
}

/** Reads and validates an inventory file; YAML is a superset of JSON, so one parser serves both. */
export function loadInventoryFile(path: string): InventoryFile {
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new InventoryError(`${path}: ${(e as Error).message}`)
  }
  const parsed = InventoryFileSchema.safeParse(raw)
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    throw new InventoryError(`${path}: ${first.path.join('.') || '(top)'}: ${first.message}`)
  }
  return parsed.data
}
