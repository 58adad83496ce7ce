import { describe, expect, it } from 'vitest'
import { soakFleet } from '../../bench/soak-fleet.js'

/**
 * One seeded point of bench/soak-fleet.ts (seed 3 draws a world with a fleet VM destroyed
 * by hand and a user's data disk, killed at VDI.set_other_config): the soak's machinery
 * and one kill, re-run and audit. The soak itself, 24 points over every kind of world, is
 * `npm run soak:fleet`; test/fleet/kill-points.test.ts pins the points that broke once.
 */
describe('kill -9 soak over fleet rollouts (one seeded point of bench/soak-fleet.ts)', () => {
  it('the re-run converges on exactly the fleet, leaks nothing and removes no data disk', async () => {
    const f = await soakFleet({ seed: 3, points: 1 })
    expect(f.results.map((r) => [r.point.world, r.problems])).toEqual([['hand-destroyed', []]])
    expect(f).toMatchObject({ points: 1, converged: 1, dataDisksRemoved: 0, leaks: { vm: 0, template: 0, vdi: 0, vbd: 0, vif: 0, task: 0 } })
  })
})
