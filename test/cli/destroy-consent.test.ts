import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runCli } from '../support/cli.js'
import { RolloutResult } from '../../src/fleet/types.js'
import { rollout } from '../../src/fleet/rollout.js'
import { ENV, fleetOn, hosts, isReadOnly } from '../fleet/support.js'

/** The consent contract through the built CLI (stdin is a pipe here: no terminal to ask on). Few spawns, each a row of the contract. */
describe('consent, --yes, --detailed-exitcode and destroy (the built CLI, spawned)', () => {
  it('rollout: the plan marks disruptive actions; without --yes they are refused (exit 2, nothing changed); --detailed-exitcode says 2 for changes and 0 for none', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], ['web-1', 'web-2'])
    expect((await rollout({ fleet, env: ENV })).ok).toBe(true)
    // The file now gives web-2 more memory: intent, and web-2 runs, so applying it halts it.
    const file = join(await mkdtemp(join(tmpdir(), 'consent-')), 'fleet.yaml')
    await writeFile(file, stringify({ ...fleet, groups: [{ ...fleet.groups[0]!, overrides: { 'web-2': { memory: '384MiB' } } }] }))

    const dry = await runCli(['rollout', file, '--dry-run', '--json', '--detailed-exitcode'], ENV)
    expect(dry.code, dry.stderr).toBe(2)
    const plan = RolloutResult.parse(JSON.parse(dry.stdout))
    expect(plan.vms.map((v) => [v.name, v.action, v.disruptive])).toEqual([
      ['web-1', 'none', false],
      ['web-2', 'update', true],
    ])

    const before = sim!.calls().length
    const refused = await runCli(['rollout', file, '--json'], ENV)
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'consent-required' })
    expect(JSON.parse(refused.stdout).error.why).toContain('web-2 (pool p1, xcp1) is running: shut down and started again to change memory_static_max')
    expect(
      sim!
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])

    const applied = await runCli(['rollout', file, '--yes', '--detailed-exitcode'], ENV)
    expect(applied.code, applied.stdout + applied.stderr).toBe(2)
    expect(applied.stdout).toContain('2 VMs: 1 updated, 1 unchanged.')
    const again = await runCli(['rollout', file, '--detailed-exitcode'], ENV)
    expect(again.code, again.stdout).toBe(0)
  })

  it('destroy (and its alias uninstall): refused without --yes, then removes the VM and its disk; an unknown name is not-found', async () => {
    const [sim] = await hosts(1)
    expect((await rollout({ fleet: await fleetOn([sim!], ['web-1']), env: ENV })).ok).toBe(true)
    const env = { XAPI_USER: ENV.SIM_USER, XAPI_PASSWORD: ENV.SIM_PASSWORD }
    const refused = await runCli(['uninstall', 'web-1', '--host', sim!.url, '--json'], env)
    expect(refused.code, refused.stderr).toBe(2)
    expect(JSON.parse(refused.stdout).error.code).toBe('consent-required')
    const vms = (): string[] =>
      Object.values(sim!.objects().VM ?? {})
        .filter((v) => !v.is_a_template && !v.is_control_domain)
        .map((v) => String(v.name_label))
    expect(vms()).toEqual(['web-1'])

    const done = await runCli(['destroy', 'web-1', '--host', sim!.url, '--yes'], env)
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toMatch(/^Destroyed VM "web-1" \([0-9a-f-]+\) and the disks made for it:\n {2}removed VDI /)
    // The VM is named once, in the head, not again as a "removed" line.
    expect(done.stdout).not.toMatch(/removed VM /)
    expect(vms()).toEqual([])
    const gone = await runCli(['destroy', 'Control domain on host: xcp1', '--host', sim!.url, '--yes', '--json'], env)
    expect(JSON.parse(gone.stdout).error.code).toBe('not-found')
  })
})
