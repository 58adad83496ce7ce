import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { readFileSync } from 'node:fs'
import { withSimulator, connectTo } from '../support/simulator.js'
import { UserError } from '../../src/errors.js'
import { claimKey, claimName } from '../../src/provision/claim.js'
import type { ProvisionEvent } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'
import { runProvision, syntheticImage, warnings } from './support.js'

const poolOf = (sim: Simulator): { ref: string; other_config: Record<string, string> } => {
  const [ref, rec] = Object.entries(sim.objects().pool!)[0]!
  return { ref, other_config: rec.other_config as Record<string, string> }
}
const claims = (sim: Simulator): string[] => Object.keys(poolOf(sim).other_config).filter((k) => k.startsWith('xcp-provision:claim:'))
const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()

describe('the claim on a VM name', () => {
  it('is made before the first change and released at the end, on success and on failure', async () => {
    const sim = await withSimulator()
    const r = await runProvision(sim, await syntheticImage(1))
    const calls = sim.calls()
    expect(calls.indexOf('pool.add_to_other_config')).toBeLessThan(calls.indexOf('VDI.create'))
    expect(claims(sim)).toEqual([])
    expect(r.vm.name).toBe('FreeBSD-9.0')
    sim.faults.add({ method: 'VDI.create', error: ['SR_BACKEND_FAILURE_44', '', 'There is insufficient space', ''] })
    await expect(runProvision(sim, await syntheticImage(1), { name: 'second' })).rejects.toThrow(/room|insufficient|SR_BACKEND_FAILURE_44/)
    expect(claims(sim)).toEqual([])
  })

  it('held by a live run: the second waits, bounded, saying so, then fails with what/why/fix and changes nothing', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const held = await claimName(x, 'FreeBSD-9.0')
    const events: ProvisionEvent[] = []
    const started = Date.now()
    const err = (await runProvision(sim, await syntheticImage(1), { events, waits: { claimMs: 600, pollMs: 50 } }).catch((e: unknown) => e)) as UserError
    expect(Date.now() - started).toBeGreaterThanOrEqual(600)
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.what).toBe('Another run is provisioning "FreeBSD-9.0"')
    expect(err.info.why).toMatch(new RegExp(`^process ${process.pid} on .+ holds the claim on that name \\(pool other-config ${claimKey('FreeBSD-9.0')}\\); waited \\d+ s`))
    expect(err.info.fix).toContain(`xe pool-param-remove uuid=<pool uuid> param-name=other-config param-key=${claimKey('FreeBSD-9.0')}`)
    expect(warnings(events).find((w) => w.startsWith('another run'))).toMatch(/^another run is provisioning "FreeBSD-9.0" \(process \d+ on .+\): waiting up to 1 s for it to end$/)
    expect(sim.calls()).not.toContain('VDI.create')
    // Still the first run's: the second never touches it.
    expect(poolOf(sim).other_config[held.key]).toBeDefined()
    await held.release()
    expect(claims(sim)).toEqual([])
  })

  it('a run that waits goes on as soon as the claim is released', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const held = await claimName(x, 'FreeBSD-9.0')
    setTimeout(() => void held.release(), 300)
    const r = await runProvision(sim, await syntheticImage(1), { waits: { pollMs: 50 } })
    expect(r.vm.name).toBe('FreeBSD-9.0')
  })

  it('left by a killed process on this machine, or too old, is taken over with a message', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    const pool = poolOf(sim).ref
    const key = claimKey('FreeBSD-9.0')
    await x.call('pool.add_to_other_config', pool, key, JSON.stringify({ v: 1, pid: dead, host: hostname(), boot, since: new Date().toISOString(), id: 'x' }))
    const events: ProvisionEvent[] = []
    await runProvision(sim, await syntheticImage(1), { events })
    const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    expect(warnings(events).find((w) => w.startsWith('took over'))).toMatch(
      new RegExp(`^took over the claim on "FreeBSD-9.0" \\(pool other-config ${key}\\): its owner, process ${dead} on ${esc(hostname())}, since \\S+, is gone$`),
    )

    // Another machine's claim, 13 hours old: its owner cannot be asked, its age says it is gone.
    const old = new Date(Date.now() - 13 * 3600_000).toISOString()
    await x.call('pool.add_to_other_config', pool, claimKey('other'), JSON.stringify({ v: 1, pid: 1, host: 'elsewhere', boot: 'b', since: old, id: 'y' }))
    const more: ProvisionEvent[] = []
    await runProvision(sim, await syntheticImage(1), { name: 'other', events: more })
    expect(warnings(more).find((w) => w.startsWith('took over'))).toMatch(
      /^took over the claim on "other" \(pool other-config [^)]+\): it was made by process 1 on elsewhere, since .+, 780 min ago, longer than any run lasts$/,
    )
    expect(claims(sim)).toEqual([])
  })

  it('an account that may not write the pool (RBAC) still provisions, and is told runs are not serialised', async () => {
    const sim = await withSimulator()
    sim.faults.add({ method: 'pool.add_to_other_config', error: ['RBAC_PERMISSION_DENIED', 'pool.add_to_other_config', 'No permission in user session'] })
    const events: ProvisionEvent[] = []
    const r = await runProvision(sim, await syntheticImage(1), { events })
    expect(r.vm.name).toBe('FreeBSD-9.0')
    expect(warnings(events)).toContain(
      'could not claim "FreeBSD-9.0" on the pool (RBAC_PERMISSION_DENIED: this account may not write the pool\'s other-config): a second run of this name at the same time would not be stopped',
    )
  })
})
