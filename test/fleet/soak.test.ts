import { describe, expect, it } from 'vitest'
import { soakFleet } from '../../bench/soak-fleet.js'

describe('kill -9 soak over fleet rollouts (three seeded points of bench/soak-fleet.ts)', () => {
  it('every re-run converges on exactly the fleet, leaks nothing and removes no data disk', async () => {
    const f = await soakFleet({ seed: 3, points: 3 })
    expect(f.results.map((r) => r.problems)).toEqual([[], [], []])
    expect(f).toMatchObject({ points: 3, converged: 3, dataDisksRemoved: 0, leaks: { vm: 0, template: 0, vdi: 0, vbd: 0, vif: 0, task: 0 } })
  })
})
