import { NEEDS_HALT } from '../provision/settings.js'
import type { VmPlan } from './planner.js'

/** One line per disruptive action, for the consent question: which VM, what happens to it, and why. */
export function disruption(v: VmPlan): string {
  const where = `${v.spec.name} (pool ${v.pool}${v.host ? `, ${v.host.name}` : ''})`
  if (v.action === 'replace') {
    const disks = v.replacing?.disks.map((d) => d.name_label).join(', ') || 'no disk'
    return `${where} is destroyed with ${disks} and made anew (${v.changes.map((c) => `${c.field} ${c.have} -> ${c.want}`).join(', ')})`
  }
  const halts = v.changes.filter((c) => NEEDS_HALT.has(c.field)).map((c) => c.field)
  return `${where} is ${v.existing?.record.power_state.toLowerCase() ?? 'running'}: shut down and started again to change ${halts.join(', ')}`
}
