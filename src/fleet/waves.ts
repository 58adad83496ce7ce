import type { VmPlan } from './planner.js'
import type { VmAction } from './types.js'

/** Actions a wave carries: the ones that make or change a VM. The rest (none, drift, fail) are reported at once. */
const CHANGES = new Set<VmAction>(['create', 'replace', 'update', 'reconcile'])

export interface WaveOptions {
  /** VMs per wave; without it one wave holds them all. */
  size?: number | undefined
  /** The first VM alone in a wave of its own, before the others. */
  canary?: boolean | undefined
}

/**
 * Splits the VMs the run makes or changes into waves, in fleet file order: the canary
 * alone first (when asked), then `size` at a time. Each VM plan gets its wave number
 * (from 1); returns the waves as indexes into `vms`.
 */
export function assignWaves(vms: VmPlan[], o: WaveOptions): number[][] {
  let rest = vms.flatMap((v, i) => (CHANGES.has(v.action) ? [i] : []))
  const waves: number[][] = []
  if (o.canary && rest.length) {
    waves.push(rest.slice(0, 1))
    rest = rest.slice(1)
  }
  const size = o.size ?? rest.length
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size))
  waves.forEach((w, k) => w.forEach((i) => (vms[i]!.wave = k + 1)))
  return waves
}
