import { UserError } from '../errors.js'
import type { Recipe } from '../recipe/schema.js'
import type { HostRecord, NetworkRecord, SrRecord } from '../xapi/records.js'
import type { PoolInventory } from './inventory.js'

export interface Host {
  ref: string
  name: string
}

/**
 * The hosts a group may use in a pool: enabled ones, by name-label so the round-robin
 * is the same on every run; `wanted` narrows them to the names the fleet file gives.
 */
export function poolHosts(inv: PoolInventory, pool: string, wanted: readonly string[] | undefined): Host[] {
  const all = Object.entries(inv.hosts)
    .map(([ref, h]: [string, HostRecord]) => ({ ref, name: h.name_label, enabled: h.enabled }))
    .sort((a, b) => a.name.localeCompare(b.name))
  const picked = wanted ? all.filter((h) => wanted.includes(h.name)) : all.filter((h) => h.enabled)
  const missing = wanted?.filter((w) => !all.some((h) => h.name === w)) ?? []
  if (missing.length || !picked.length) {
    throw new UserError({
      what: missing.length ? `Pool ${pool} has no host named ${missing.map((m) => `"${m}"`).join(', ')}` : `Pool ${pool} has no enabled host`,
      why: `hosts there: ${all.map((h) => `${h.name}${h.enabled ? '' : ' (disabled)'}`).join(', ') || 'none'}`,
      fix: 'fix hosts: in the fleet file (host name-labels), or enable a host',
    })
  }
  return picked.map(({ ref, name }) => ({ ref, name }))
}

/** The SR a VM's disk goes to on a host: matching the recipe's sr and plugged into that host. */
export function srOnHost(inv: PoolInventory, host: Host, recipe: Recipe): { ref: string; record: SrRecord } {
  const attached = new Set(
    Object.values(inv.pbds)
      .filter((p) => p.host === host.ref && p.currently_attached)
      .map((p) => p.SR),
  )
  const sel = recipe.sr
  const named = Object.entries(inv.srs).filter(([, s]) => (sel.uuid ? s.uuid === sel.uuid : s.name_label === sel.name_label))
  const here = named.filter(([ref]) => attached.has(ref))
  if (here.length === 1) return { ref: here[0]![0], record: here[0]![1] }
  const label = sel.uuid ? `SR ${sel.uuid}` : `SR "${sel.name_label}"`
  if (here.length === 0) {
    throw new UserError({
      code: 'not-found',
      what: `No ${label} on host ${host.name}`,
      why: named.length ? `it exists but is not plugged into ${host.name}` : 'no SR has that name-label (names are exact and case-sensitive)',
      fix: 'set sr in the fleet file (defaults or overrides) or the recipe to an SR this host can reach',
    })
  }
  throw new UserError({
    what: `${here.length} SRs named "${sel.name_label}" on host ${host.name}`,
    why: `candidates: ${here.map(([, s]) => `${s.uuid} (${s.type}${s.shared ? ', shared' : ''})`).join(', ')}`,
    fix: 'give sr: {uuid: …} in the fleet file with one of the uuids above',
  })
}

export function networkByBridge(inv: PoolInventory, bridge: string): { ref: string; record: NetworkRecord } {
  const hit = Object.entries(inv.networks).find(([, n]) => n.bridge === bridge)
  if (hit) return { ref: hit[0], record: hit[1] }
  throw new UserError({
    code: 'not-found',
    what: `No network on bridge ${bridge}`,
    why: `bridges here: ${
      Object.values(inv.networks)
        .map((n) => n.bridge)
        .join(', ') || 'none'
    }`,
    fix: 'set network in the fleet file (or network.bridge in the recipe) to one of those',
  })
}

/** Exactly one template with this name, as vm-install requires. */
export function templateByName(inv: PoolInventory, name: string): string {
  const hits = Object.entries(inv.vms).filter(([, v]) => v.is_a_template && !v.is_a_snapshot && !v.is_control_domain && v.name_label === name)
  if (hits.length === 1) return hits[0]![0]
  throw new UserError({
    what: hits.length ? `${hits.length} templates are named "${name}"` : `No template named "${name}"`,
    why: hits.length ? `candidates: ${hits.map(([, v]) => v.uuid).join(', ')}` : 'no template has that exact name-label',
    fix: hits.length ? 'rename the extra templates' : 'set template in the recipe to an existing template (xe template-list params=name-label)',
  })
}
