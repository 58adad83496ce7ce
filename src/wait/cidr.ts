import { isIP } from 'node:net'

export interface Cidr {
  text: string
  family: 4 | 6
  bits: bigint
  prefix: number
}

function toBits(ip: string, family: 4 | 6): bigint {
  if (family === 4) return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n)
  // Expand "::" into the missing zero groups, then read eight 16-bit groups.
  const [head = '', tail] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n)
}

/** "10.0.0.0/24" or "2001:db8::/32"; a bare address is a /32 or /128. */
export function parseCidr(text: string): Cidr | string {
  const [addr = '', len] = text.split('/')
  const family = isIP(addr)
  if (family === 0) return `"${addr}" is not an IPv4 or IPv6 address`
  const max = family === 4 ? 32 : 128
  const prefix = len === undefined ? max : Number(len)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return `the prefix length must be 0 to ${max}`
  return { text, family: family as 4 | 6, bits: toBits(addr, family as 4 | 6), prefix }
}

export function inCidr(ip: string, c: Cidr): boolean {
  const family = isIP(ip)
  if (family !== c.family) return false
  const width = BigInt(family === 4 ? 32 : 128)
  const shift = width - BigInt(c.prefix)
  return toBits(ip, c.family) >> shift === c.bits >> shift
}
