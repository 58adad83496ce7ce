import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { until } from '../support/until.js'
import { count, guests, sampleImage, simEnv } from './kill-support.js'

describe('two runs for one VM name at once', () => {
  it('are serialised by the claim on the pool: one makes the VM, the other waits for it and then finds it made with the same settings, creating nothing', async () => {
    const sim = await withSimulator()
    const image = await sampleImage('concurrent-')
    const vdisBefore = count(sim, 'VDI')
    // The first run to claim the name is held in its upload (its first task) until the other
    // has met that claim (its own pool.add_to_other_config refused): the runs overlap for
    // certain, however far apart the two process starts fall on a loaded machine. (A delay
    // of 800 ms stood here: a second process starting later than that found the VM made.)
    const hold = sim.faults.hold('task.create', { maxMs: 30_000 })
    const args = ['freebsd-9', '--host', sim.url, '--image', image, '--json']
    const both = Promise.all([runCli(args, simEnv(sim)), runCli(args, simEnv(sim))])
    await Promise.race([hold.reached, both])
    const claims = (): number => sim.calls().filter((m) => m === 'pool.add_to_other_config').length
    await Promise.race([until("the second run to meet the first one's claim", () => claims() >= 2, 30_000), both])
    hold.release()
    const [a, b] = await both
    const [won, lost] = 'existing' in JSON.parse(a.stdout) ? [b, a] : [a, b]
    expect(won.code, won.stderr).toBe(0)
    expect(lost.code, lost.stderr).toBe(0)
    expect(lost.stderr).toMatch(/another run is provisioning "FreeBSD-9\.0" \(process \d+ on [^,]+, since [^)]+\): waiting up to 600 s for it to end/)
    expect(JSON.parse(lost.stdout)).toMatchObject({ existing: true, state: 'unchanged', vm: { name: 'FreeBSD-9.0' } })
    expect(guests(sim).map((v) => v.name_label)).toEqual(['FreeBSD-9.0'])
    expect(count(sim, 'VDI') - vdisBefore).toBe(1)
    expect(count(sim, 'VBD')).toBe(1)
    expect(count(sim, 'VIF')).toBe(1)
    // Both released their claim.
    const pool = Object.values(sim.objects().pool ?? {})[0]!
    expect(Object.keys(pool.other_config as Record<string, string>).filter((k) => k.startsWith('xcp-provision:claim:'))).toEqual([])
  })
})
