import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { fileURLToPath } from 'node:url'
import { runCli } from '../support/cli.js'
import { runProcess } from '../../bench/support/run-process.js'
import { RolloutResult } from '../../src/fleet/types.js'
import { ENV, fleetOn, hosts, isReadOnly } from './support.js'
import type { Simulator } from '../../mocks/simulator.js'

async function fleetFile(sims: Simulator[], names: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'fleet-cli-')), 'fleet.yaml')
  await writeFile(file, stringify(await fleetOn(sims, names)))
  return file
}

describe('provision rollout (the built CLI, spawned)', () => {
  it('prints the plan as a diff on --dry-run, then rolls out with --json, then reports no change', async () => {
    const sims = await hosts(2)
    const file = await fleetFile(sims, 'web-{1..4}')

    const dry = await runCli(['rollout', file, '--dry-run'], ENV)
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain('Fleet "web": dry run, nothing was changed.')
    expect(dry.stdout).toMatch(/ {2}\+ web-1 +create on p1\/xcp1, SR "Local storage" on xcp1/)
    expect(dry.stdout).toContain('Plan: 4 to create')
    expect(sims.flatMap((s) => s.calls()).filter((m) => !isReadOnly(m))).toEqual([])

    const run = await runCli(['rollout', file, '--json', '--concurrency', '2'], ENV)
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    const r = RolloutResult.parse(JSON.parse(run.stdout))
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'created', 'created', 'created'])

    const again = await runCli(['rollout', file], ENV)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/^VM +HOST +STATE +DURATION +ERROR\nweb-1 +p1\/xcp1 +unchanged +-\n/)
    expect(again.stdout).toContain('4 VMs: 4 unchanged.')
    // Not a terminal: stderr has transitions only; how each VM ended is the table's, once (output-once.test.ts).
    expect(again.stderr).not.toContain('web-2: unchanged')
  })

  it('exits 1 with the summary table and the reason when a VM fails', async () => {
    const sims = await hosts(1)
    const file = await fleetFile(sims, 'web-{1..3}')
    sims[0]!.faults.add({ method: 'VM.start', nth: 2, error: ['BOOTLOADER_FAILED', 'x', 'injected by the test'] })
    const r = await runCli(['rollout', file, '--concurrency', '1'], ENV)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/web-2 +p1\/xcp1 +failed +[\d.]+ m?s +Start the VM failed/)
    expect(r.stdout).toContain('web-2: Start the VM failed\n  why: pygrub could not boot the disk: injected by the test')
    expect(r.stdout).toMatch(/removed what this run created: VBD .*; VIF .*; VM web-2 .*; VDI web-2-vdi/)
    expect(r.stdout).toContain('3 VMs: 2 created, 1 failed.')
    expect(r.stderr).toContain('web-2: started on p1/xcp1')
    expect(r.stderr).not.toContain('web-2: failed')

    // --quiet: the summary and nothing on stderr, where the run above printed each start.
    const quiet = await runCli(['rollout', file, '--quiet'], ENV)
    expect(quiet.code).toBe(0)
    expect(quiet.stderr).toBe('')
    expect(quiet.stdout).toContain('3 VMs: 1 created, 2 unchanged.')
  })

  it("is the package's main export: import { rollout } from 'xcp-provision' (built)", async () => {
    // Imported by Node itself from the package root, as a user's code would: imported here,
    // vitest transformed all of dist/ first (~1.5 s of CPU), where Node loads it in ~0.7 s.
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const script = "const m = await import('xcp-provision'); console.log(JSON.stringify([typeof m.rollout, typeof m.RolloutResult?.parse]))"
    const r = await runProcess(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' }, cwd: root })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(['function', 'function'])
  })

  it('refuses bad arguments with exit 2 and missing credentials with exit 1', async () => {
    expect((await runCli(['rollout'], ENV)).code).toBe(2)
    const sims = await hosts(1)
    const file = await fleetFile(sims, 'a')
    const zero = await runCli(['rollout', file, '--concurrency', '0'], ENV)
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--concurrency 0 is not a positive whole number')
    const noCreds = await runCli(['rollout', file, '--json'], {})
    expect(noCreds.code).toBe(1)
    expect(JSON.parse(noCreds.stdout).vms[0].error.why).toBe('SIM_USER and SIM_PASSWORD are not set')
  })
})
