import { createHash } from 'node:crypto'
import type { Recipe } from '../recipe/schema.js'

/** Bumped when what a golden template holds changes, so old ones are not re-used. */
const GOLDEN_FORMAT = 1

const sorted = <T>(m: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)))

/**
 * The settings a group's golden template carries, hashed: a template with this hash
 * in other_config is re-used by later rollouts; a changed setting builds a new one.
 * Per-VM overrides are not in it: they are applied to each clone. The boot mode, its
 * firmware, Secure Boot, boot order and platform keys are in it for hvm and pvh; a pv
 * recipe hashes as before boot modes existed (its step sets no platform), so the golden
 * templates of PV fleets are still re-used.
 */
export function templateSha256(fleet: string, r: Recipe): string {
  const boot = r.boot.mode === 'pv' ? {} : { boot: r.boot, platform: sorted(r.platform) }
  const settings = {
    format: GOLDEN_FORMAT,
    fleet,
    template: r.template,
    description: r.description,
    pv: r.pv,
    other_config: sorted(r.other_config),
    memory: r.memory,
    vcpus: r.vcpus,
    ...boot,
  }
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex')
}

export const templateName = (fleet: string, r: Recipe, sha: string): string => `xcp-provision ${fleet}: ${r.name} (${sha.slice(0, 8)})`
