import { createHash } from 'node:crypto'
import type { Recipe } from '../recipe/schema.js'

/** Bumped when what a golden template holds changes, so old ones are not re-used. */
const GOLDEN_FORMAT = 1

/**
 * The settings a group's golden template carries, hashed: a template with this hash
 * in other_config is re-used by later rollouts; a changed setting builds a new one.
 * Per-VM overrides are not in it: they are applied to each clone.
 */
export function templateSha256(fleet: string, r: Recipe): string {
  const settings = {
    format: GOLDEN_FORMAT,
    fleet,
    template: r.template,
    description: r.description,
    pv: r.pv,
    other_config: Object.fromEntries(Object.entries(r.other_config).sort(([a], [b]) => a.localeCompare(b))),
    memory: r.memory,
    vcpus: r.vcpus,
  }
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex')
}

export const templateName = (fleet: string, r: Recipe, sha: string): string => `xcp-provision ${fleet}: ${r.name} (${sha.slice(0, 8)})`
