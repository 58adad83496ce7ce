import { UserError, EXIT } from '../errors.js'
import { assertRunnable, type HostReport } from '../provision/host-check.js'
import type { ResolvedFleet } from './load.js'
import type { OpenPool } from './pools.js'
import type { VmSpec } from './spec.js'

/** What the pools' hosts say about a group's recipe: nothing, or warnings for what runs with a caveat. */
export interface PoolWarnings {
  pool: string
  warnings: string[]
}

/** The hosts of a pool a group's VMs may land on: the group's `hosts` when it names some, else every host. */
function groupHosts(report: HostReport, hosts: string[] | undefined): HostReport {
  if (!hosts) return report
  const picked = report.vm_hosts.filter((h) => hosts.includes(h.name))
  return { ...report, vm_hosts: picked.length ? picked : report.vm_hosts }
}

/**
 * Provision's host check (src/provision/host-check.ts) for every group in every pool it
 * names, before any change in any pool: one group that a pool cannot run (a PV recipe on
 * XCP-ng 8.3, UEFI before API 2.12, a 32-bit PV kernel on 8.2) stops the whole rollout,
 * with every such group and pool named. A pool that could not be read fails only its own
 * VMs, as before. `kernelBits` gives each VM's image's ELF class (pv and pvh), from the preflight.
 */
export function assertPoolsRunnable(resolved: ResolvedFleet, specs: VmSpec[], pools: OpenPool[], kernelBits: (s: VmSpec) => 32 | 64 | null): PoolWarnings[] {
  const where = resolved.file ?? 'fleet'
  const refusals: { what: string; why: string; fix: string }[] = []
  const warnings = new Map<string, Set<string>>()
  const firstOfGroup = specs.filter((s, i) => specs.findIndex((o) => o.group === s.group) === i)
  for (const s of firstOfGroup) {
    const recipe = resolved.fleet.groups[s.group]?.recipe ?? s.groupRecipe.name
    for (const p of pools.filter((o) => s.pools.includes(o.name))) {
      try {
        const w = assertRunnable(s.groupRecipe, groupHosts(p.hostReport, s.hosts), kernelBits(s))
        for (const m of w) (warnings.get(p.name) ?? warnings.set(p.name, new Set()).get(p.name)!).add(`groups.${s.group} (recipe ${recipe}): ${m}`)
      } catch (e) {
        if (!(e instanceof UserError)) throw e
        refusals.push({ what: `pool ${p.name} cannot run groups.${s.group} (recipe ${recipe}): ${e.info.what}`, why: e.info.why, fix: e.info.fix })
      }
    }
  }
  if (refusals.length) {
    throw new UserError({
      what: `${where}: ${refusals.map((r) => r.what).join('; ')}`,
      why: [...new Set(refusals.map((r) => r.why))].join('; '),
      fix: `${[...new Set(refusals.map((r) => r.fix))].join('; ')}; or take that pool out of the group's pools. Nothing was changed in any pool`,
      exitCode: EXIT.failure,
    })
  }
  return [...warnings].map(([pool, w]) => ({ pool, warnings: [...w] }))
}
