import type { XapiConnection } from '../xapi/connection.js'
import * as SR from '../xapi/sr.js'
import * as PBD from '../xapi/pbd.js'
import * as host from '../xapi/host.js'
import * as pool from '../xapi/pool.js'
import { UserError } from '../errors.js'
import type { SrRecord } from '../xapi/records.js'

export interface Candidate {
  ref: string
  record: SrRecord
  hosts: string[]
}

/**
 * Several SRs share a name in every pool ("Local storage" exists once per host). The
 * one to use is the one plugged into the wanted host: `sr.host` from the recipe, or
 * else the pool master, where xapi places a VM that has no affinity. Shared SRs are
 * reachable from every host and win over a local one only when no local one matches.
 */
export async function chooseSrByHost(x: XapiConnection, refs: string[], label: string, wantedHost: string | undefined): Promise<{ ref: string; record: SrRecord }> {
  const hosts = await host.get_all_records(x)
  const pbds = await PBD.get_all_records(x)
  const candidates: Candidate[] = await Promise.all(
    refs.map(async (ref) => ({
      ref,
      record: await SR.get_record(x, ref),
      hosts: Object.values(pbds)
        .filter((p) => p.SR === ref)
        .map((p) => hosts[p.host]?.name_label ?? p.host),
    })),
  )
  const master = Object.values(await pool.get_all_records(x))[0]?.master
  const target = wantedHost ?? (master ? hosts[master]?.name_label : undefined)
  const local = candidates.filter((c) => !c.record.shared && target !== undefined && c.hosts.includes(target))
  const shared = candidates.filter((c) => c.record.shared)
  const pick = local.length === 1 ? local[0] : local.length === 0 && shared.length === 1 ? shared[0] : undefined
  if (pick) return { ref: pick.ref, record: pick.record }
  const known = Object.values(hosts).map((h) => h.name_label)
  throw new UserError({
    code: 'ambiguous',
    what: `${refs.length} SRs are named "${label}"`,
    why: `${wantedHost && !known.includes(wantedHost) ? `no host is named "${wantedHost}"; ` : ''}candidates: ${candidates
      .map((c) => `${c.record.uuid} (${c.record.type}${c.record.shared ? ', shared' : ''}, on ${c.hosts.join(', ') || 'no host'})`)
      .join('; ')}`,
    fix: 'add sr.host (the host name-label whose SR to use) or sr.uuid to the recipe',
  })
}
