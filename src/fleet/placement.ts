import { UserError } from '../errors.js'
import type { HostRecord } from '../xapi/records.js'
import type { PoolInventory } from './inventory.js'
import type { HostRef } from '../select/sr.js'

/** A host a VM is placed on: the SR rule (src/select/sr.ts) takes the same shape. */
export type Host = HostRef

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
