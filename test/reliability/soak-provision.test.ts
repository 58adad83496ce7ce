import { describe, expect, it } from 'vitest'
import { soakProvision } from '../../bench/soak-provision.js'

describe('kill -9 soak over single provisions (three seeded points of bench/soak-provision.ts)', () => {
  it('every re-run, started at once, converges on exactly one VM, leaks nothing and removes no data disk', async () => {
    const f = await soakProvision({ seed: 2, points: 3 })
    expect(f.results.map((r) => r.problems)).toEqual([[], [], []])
    expect(f).toMatchObject({ points: 3, converged: 3, dataDisksRemoved: 0, leaks: { vm: 0, vdi: 0, vbd: 0, vif: 0, task: 0, claim: 0 } })
  }, 180_000)
})
