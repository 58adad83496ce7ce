import { parseCidr, type Cidr } from './cidr.js'

/** One readiness condition of --wait (docs/first-boot.md "Waiting"). Several must all hold. */
export type Probe =
  | { kind: 'ip'; cidr?: Cidr | undefined; device?: string | undefined; text: string }
  | { kind: 'agent'; text: string }
  | { kind: 'vm-data'; key: string; value?: string | undefined; text: string }
  | { kind: 'tcp'; port: number; text: string }

/**
 * Parses one --wait value: ip, ip=CIDR, ip=<vif device>:CIDR, agent,
 * vm-data:<key>[=<value>], tcp:<port>. Returns the problem as a string.
 */
export function parseProbe(text: string): Probe | string {
  if (text === 'ip') return { kind: 'ip', text }
  if (text.startsWith('ip=')) {
    const m = /^ip=(?:(\d+):)?(.+)$/.exec(text)!
    const cidr = parseCidr(m[2]!)
    if (typeof cidr === 'string') return `${text}: ${cidr}`
    return { kind: 'ip', cidr, device: m[1], text }
  }
  if (text === 'agent') return { kind: 'agent', text }
  if (text.startsWith('vm-data:')) {
    const m = /^vm-data:([A-Za-z0-9_./-]+)(?:=(.*))?$/.exec(text)
    if (!m) return `${text}: the key is letters, digits and _ . / - (e.g. vm-data:ready=1)`
    return { kind: 'vm-data', key: m[1]!.startsWith('vm-data/') ? m[1]! : `vm-data/${m[1]!}`, value: m[2], text }
  }
  if (text.startsWith('tcp:')) {
    const port = Number(text.slice(4))
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `${text}: the port is a number from 1 to 65535`
    return { kind: 'tcp', port, text }
  }
  return `${text}: not a probe; use ip, ip=CIDR, agent, vm-data:<key>[=<value>] or tcp:<port>`
}

/** Probes that only a guest agent can satisfy: without one they can never pass. */
export const needsAgent = (p: Probe): boolean => p.kind === 'ip' || p.kind === 'agent' || p.kind === 'tcp'
