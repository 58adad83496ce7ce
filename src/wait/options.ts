import { UserError, EXIT } from '../errors.js'
import { parseProbe, type Probe } from './probes.js'

/** --wait (repeatable) and --wait-timeout <seconds>, checked once at the boundary. */
export function waitOptions(wait: string[] | undefined, timeout: string | undefined): { probes: Probe[]; timeoutMs?: number } | undefined {
  const probes: Probe[] = []
  for (const w of wait ?? []) {
    const p = parseProbe(w)
    if (typeof p === 'string')
      throw new UserError({ what: `--wait ${w} is not understood`, why: p, fix: 'e.g. --wait ip, --wait ip=10.0.0.0/24, --wait agent, --wait vm-data:ready=1, --wait tcp:22', exitCode: EXIT.usage })
    probes.push(p)
  }
  if (timeout === undefined) return probes.length ? { probes } : undefined
  const s = Number(timeout)
  if (!Number.isFinite(s) || s <= 0)
    throw new UserError({ what: `--wait-timeout ${timeout} is not a duration`, why: 'it is a number of seconds greater than 0', fix: 'e.g. --wait-timeout 300', exitCode: EXIT.usage })
  if (!probes.length)
    throw new UserError({ what: '--wait-timeout without --wait', why: 'there is nothing to wait for', fix: 'add --wait ip (or agent, vm-data:<key>, tcp:<port>)', exitCode: EXIT.usage })
  return { probes, timeoutMs: s * 1000 }
}
