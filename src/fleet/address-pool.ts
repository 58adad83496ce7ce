import { isIPv4 } from 'node:net'
import { z } from 'zod'
import { parseCidr } from '../wait/cidr.js'

/**
 * A static IPv4 address pool: each VM of the groups that use it gets one address, kept
 * on the VM (other_config ADDRESS_KEY) and read back on every re-run (docs/fleet.md
 * "Addresses"). IPv4 only: a guest's IPv6 comes from router advertisements far more often
 * than from a hand-kept list.
 */

/** Set on a VM at its clone: the address it was given, so no later run hands it out again. */
export const ADDRESS_KEY = 'xcp-provision:address'

export const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
export const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')

const ipv4 = z.string().refine(isIPv4, 'must be an IPv4 address, e.g. 10.0.0.10')

export const AddressPoolSchema = z
  .object({
    cidr: z.string().describe('The subnet the addresses are in, e.g. 10.0.0.0/24 (IPv4)'),
    gateway: ipv4.optional().describe('Default route of the VMs; never handed out'),
    range: z
      .object({ start: ipv4, end: ipv4 })
      .strict()
      .optional()
      .describe('The addresses handed out, both ends included (default: the whole subnet but its network and broadcast addresses and the gateway)'),
    dns: z.array(ipv4).default([]).describe('Name servers written into the generated network config'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const c = parseCidr(p.cidr)
    if (typeof c === 'string' || c.family !== 4 || !p.cidr.includes('/')) {
      ctx.addIssue({ code: 'custom', path: ['cidr'], message: typeof c === 'string' ? c : 'must be an IPv4 subnet with its prefix length, e.g. 10.0.0.0/24' })
      return
    }
    const { first, last } = subnet(p.cidr)
    const inside = (ip: string): boolean => toInt(ip) >= first && toInt(ip) <= last
    if (p.gateway && !inside(p.gateway)) ctx.addIssue({ code: 'custom', path: ['gateway'], message: `${p.gateway} is not in ${p.cidr}` })
    if (p.range) {
      for (const end of ['start', 'end'] as const) {
        if (!inside(p.range[end])) ctx.addIssue({ code: 'custom', path: ['range', end], message: `${p.range[end]} is not in ${p.cidr}` })
      }
      if (toInt(p.range.start) > toInt(p.range.end)) ctx.addIssue({ code: 'custom', path: ['range'], message: `start ${p.range.start} is after end ${p.range.end}` })
    }
  })

export type AddressPool = z.infer<typeof AddressPoolSchema>

/** The subnet's first and last address as numbers, and its prefix length. */
export function subnet(cidr: string): { first: number; last: number; prefix: number } {
  const [addr = '', len = '32'] = cidr.split('/')
  const prefix = Number(len)
  const size = 2 ** (32 - prefix)
  const first = Math.floor(toInt(addr) / size) * size
  return { first, last: first + size - 1, prefix }
}

/** Whether the pool hands this address (as a number) out: in the range, not the gateway, nor (above /31) the network or broadcast address. */
function handsOut(p: AddressPool, n: number): boolean {
  const { first, last, prefix } = subnet(p.cidr)
  const from = p.range ? toInt(p.range.start) : first
  const to = p.range ? toInt(p.range.end) : last
  if (n < from || n > to) return false
  if (prefix < 31 && (n === first || n === last)) return false
  return p.gateway === undefined || n !== toInt(p.gateway)
}

/** The addresses the pool hands out, lowest first, lazily (a /8 has millions). */
export function* candidates(p: AddressPool): Generator<string> {
  const { first, last } = subnet(p.cidr)
  for (let n = p.range ? toInt(p.range.start) : first; n <= (p.range ? toInt(p.range.end) : last); n++) if (handsOut(p, n)) yield toIp(n)
}

/** How many addresses the pool has in all. */
export function capacity(p: AddressPool): number {
  const { first, last, prefix } = subnet(p.cidr)
  const from = p.range ? toInt(p.range.start) : first
  const to = p.range ? toInt(p.range.end) : last
  let n = to - from + 1
  if (prefix < 31) n -= [first, last].filter((x) => x >= from && x <= to).length
  const g = p.gateway === undefined ? undefined : toInt(p.gateway)
  if (g !== undefined && g >= from && g <= to && !(prefix < 31 && (g === first || g === last))) n--
  return n
}

export const inPool = (p: AddressPool, ip: string): boolean => isIPv4(ip) && handsOut(p, toInt(ip))

/**
 * A cloud-init network config v2 that gives the VIF with the VM's MAC its address: the
 * placeholders are filled per VM by the drive's templating (src/cloud-init/template.ts).
 * The interface is found by MAC, not by name (eth0 on Linux, xn0 on FreeBSD).
 */
export function networkConfigFor(p: AddressPool): Record<string, unknown> {
  const { prefix } = subnet(p.cidr)
  return {
    version: 2,
    ethernets: {
      id0: {
        match: { macaddress: '{mac}' },
        addresses: [`{ip}/${prefix}`],
        ...(p.gateway ? { routes: [{ to: 'default', via: p.gateway }] } : {}),
        ...(p.dns.length ? { nameservers: { addresses: p.dns } } : {}),
      },
    },
  }
}
