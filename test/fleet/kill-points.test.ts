import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { stringify } from 'yaml'
import { BIN, runCli, runDirs } from '../support/cli.js'
import { RolloutResult } from '../../src/fleet/types.js'
import { rollout } from '../../src/fleet/rollout.js'
import { audit, killAt, settle } from '../../bench/soak-fleet.js'
import type { Simulator } from '../../mocks/simulator.js'
import { ENV, fleetOn, hosts } from './support.js'

const NAMES = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5']

async function world(): Promise<{ sim: Simulator; file: string; before: Record<string, Set<string>> }> {
  const [sim] = await hosts(1)
  const file = join(await mkdtemp(join(tmpdir(), 'fleet-kill-')), 'fleet.yaml')
  await writeFile(file, stringify(await fleetOn([sim!], NAMES)))
  const before = Object.fromEntries(Object.entries(sim!.objects()).map(([cls, recs]) => [cls, new Set(Object.keys(recs))]))
  return { sim: sim!, file, before }
}

/**
 * The same command again. Finding and removing what the killed run left is the library's
 * work, so most re-runs call it in-process (a spawned rollout costs about twice the CPU);
 * `spawned` keeps the real process, its exit code and its --json, for two of them. The
 * killed run is always a real process.
 */
async function rerun(file: string, how: 'spawned' | 'in-process' = 'in-process'): Promise<RolloutResult> {
  if (how === 'in-process') {
    const r = await rollout({ fleet: file, env: ENV })
    // The CLI exits 0 exactly when the result is ok; --json prints the same object.
    expect(r.ok, JSON.stringify(r.vms)).toBe(true)
    return RolloutResult.parse(JSON.parse(JSON.stringify(r)))
  }
  const r = await runCli(['rollout', file, '--json'], ENV)
  expect(r.code, r.stderr).toBe(0)
  return RolloutResult.parse(JSON.parse(r.stdout))
}

function expectConverged(w: { sim: Simulator; before: Record<string, Set<string>> }): void {
  const a = audit({ sim: w.sim, names: NAMES, dataDisks: new Map(), before: w.before })
  expect(a.problems).toEqual([])
}

describe('provision rollout killed with -9, then the same command', () => {
  it('killed while a disk clone is in flight (it lands before its tags): the re-run removes it, one base stays', async () => {
    const w = await world()
    expect(await killAt(w.sim, w.file, 'VDI.clone', 2, ENV)).toBe(true)
    const r = await rerun(w.file, 'spawned')
    expect(r.pool_leftovers.flatMap((l) => l.leftovers)).toEqual([expect.stringMatching(/^VDI xcp-provision base /)])
    expectConverged(w)
  })

  it('killed while the golden template gets its tags: the re-run removes the half-made template, never leaves a VM named like it', async () => {
    const w = await world()
    // freebsd-9's other_config has one key (the first VM.add_to_other_config); then the template's two tags.
    expect(await killAt(w.sim, w.file, 'VM.add_to_other_config', 3, ENV)).toBe(true)
    const r = await rerun(w.file)
    expect(r.templates.map((t) => t.action)).toEqual(['build'])
    expect(r.pool_leftovers.flatMap((l) => l.leftovers)).toEqual([expect.stringMatching(/^VM /)])
    expectConverged(w)
  })

  it("killed with several VM clones still templates (tags of the golden one): no HANDLE_INVALID, each removed as its VM's leftover", async () => {
    const w = await world()
    // Every VM.clone after the golden template's own (Async.VM.clone, the first) is held: four in flight, one per slot.
    const hold = w.sim.faults.hold('VM.clone', { nth: 2, times: 0 })
    const child = spawn(process.execPath, [BIN, 'rollout', w.file], { env: { PATH: process.env.PATH ?? '', ...runDirs(), ...ENV }, stdio: 'ignore' })
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
    for (let i = 0; i < 1000 && hold.held < 4; i++) await sleep(10)
    expect(hold.held).toBe(4)
    child.kill('SIGKILL')
    await closed
    hold.release()
    await settle(w.sim)
    const strays = Object.values(w.sim.objects().VM!).filter((v) => v.is_a_template && String(v.name_label).endsWith('[xcp-provision: incomplete]'))
    expect(strays).toHaveLength(4)
    const r = await rerun(w.file)
    expect(r.vms.map((v) => v.state)).toEqual(Array(5).fill('created'))
    expect(r.templates.map((t) => t.action)).toEqual(['reuse'])
    expect(r.vms.filter((v) => v.leftovers.length)).toHaveLength(4)
    expectConverged(w)
  })

  for (const [what, nth] of [
    ["the golden template's clone", 1],
    ["a VM's clone", 2],
  ] as const) {
    it(`killed during a slow VM.clone (${what}) and run again at once: the clone that lands later is removed by the next run`, async () => {
      const w = await world()
      const hold = w.sim.faults.hold('VM.clone', { nth })
      const child = spawn(process.execPath, [BIN, 'rollout', w.file], { env: { PATH: process.env.PATH ?? '', ...runDirs(), ...ENV }, stdio: 'ignore' })
      const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
      await hold.reached
      child.kill('SIGKILL')
      await closed
      // The held clone is still in flight while the same command runs again and finishes.
      const second = await rerun(w.file, nth === 2 ? 'spawned' : 'in-process')
      expect(second.ok).toBe(true)
      hold.release()
      await settle(w.sim)
      const stray = Object.values(w.sim.objects().VM!).filter((v) => String(v.name_label).endsWith('[xcp-provision: incomplete]'))
      expect(stray).toHaveLength(1)
      const third = await rerun(w.file)
      expect(third.vms.map((v) => v.state)).toEqual(Array(5).fill('unchanged'))
      expect([...third.pool_leftovers.flatMap((l) => l.leftovers), ...third.vms.flatMap((v) => v.leftovers)]).toEqual([`VM ${String(stray[0]!.uuid)}`])
      expectConverged(w)
    })
  }
})
