import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { BIN, runDirs } from '../support/cli.js'
import { until } from '../support/until.js'
import { runProvision, syntheticImage } from '../provision/support.js'
import { destroy } from '../../src/provision/destroy-run.js'
import { UserError } from '../../src/errors.js'
import type { Simulator } from '../../mocks/simulator.js'

const NAME = 'FreeBSD-9.0'
const claims = (sim: Simulator): string[] =>
  Object.values(sim.objects().pool!).flatMap((p) => Object.keys(p.other_config as Record<string, string>).filter((k) => k.startsWith('xcp-provision:claim:')))
const vms = (sim: Simulator): string[] =>
  Object.values(sim.objects().VM ?? {})
    .filter((v) => !v.is_a_template && !v.is_control_domain)
    .map((v) => String(v.name_label))

/** A provision of NAME held in flight at VBD.create: its VM exists, half made, and it holds the name's claim. */
async function provisionInFlight(sim: Simulator): Promise<{ done: Promise<unknown>; release: () => void }> {
  const hold = sim.faults.hold('VBD.create')
  const done = runProvision(sim, await syntheticImage(3)).catch((e: unknown) => e)
  await hold.reached
  expect(claims(sim)).toHaveLength(1)
  return { done, release: () => hold.release() }
}

describe('provision destroy takes the name claim provision takes', () => {
  it('refuses, after a bounded wait that it announces, while a provision of the name runs: name-taken, nothing removed', async () => {
    const sim = await withSimulator()
    const run = await provisionInFlight(sim)
    const notices: string[] = []
    const started = Date.now()
    const err = (await destroy({ url: sim.url, ...sim.credentials, name: NAME, yes: true, waits: { claimMs: 1000, pollMs: 50 }, onWait: (m) => notices.push(m) }).catch((e: unknown) => e)) as UserError
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(err).toBeInstanceOf(UserError)
    expect(err.code).toBe('name-taken')
    expect(err.info.what).toBe(`Another run holds "${NAME}"`)
    // The time it really waited, rounded: 1 s, or 2 s when the last poll's calls ran late on a loaded machine.
    expect(err.info.why).toMatch(/^process \d+ on .+ holds the claim on that name .*; waited \d+ s for it to end; destroying meanwhile could remove a VM that run is still making or changing$/)
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^another run holds "${NAME}" \\(process \\d+ on .+\\): destroy is waiting up to 1 s for it to end$`))])
    expect(sim.calls()).not.toContain('VM.destroy')
    // The provision goes on untouched and finishes; its claim was never the destroy's to remove.
    run.release()
    const r = (await run.done) as { vm: { name: string } }
    expect(r.vm.name).toBe(NAME)
    expect(vms(sim)).toEqual([NAME])
    expect(claims(sim)).toEqual([])
  })

  it('as a process: waits for the provision to end, then destroys the VM it finished, and releases the claim', async () => {
    const sim = await withSimulator()
    const run = await provisionInFlight(sim)
    const adds = (): number => sim.calls().filter((c) => c === 'pool.add_to_other_config').length
    const child = spawn(process.execPath, [BIN, 'destroy', NAME, '--host', sim.url, '--yes'], {
      env: { PATH: process.env.PATH ?? '', ...runDirs(), XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exit = new Promise<number | null>((res) => child.on('close', res))
    // The destroy tried the claim (MAP_DUPLICATE_KEY) and said it waits; only then does the provision go on.
    await until('the destroy to wait for the claim', () => adds() >= 2 && stderr.includes('destroy is waiting'))
    expect(sim.calls()).not.toContain('VM.destroy')
    run.release()
    const r = (await run.done) as { vm: { uuid: string; name: string } }
    expect(r.vm.name).toBe(NAME)
    expect(await exit, stderr).toBe(0)
    expect(stderr).toMatch(new RegExp(`^warning: another run holds "${NAME}" \\(process \\d+ on .+\\): destroy is waiting up to 600 s for it to end$`, 'm'))
    expect(stderr.split('another run holds').length - 1).toBe(1)
    expect(stdout).toContain(`Destroyed VM "${NAME}" (${r.vm.uuid}) and the disks made for it:`)
    expect(vms(sim)).toEqual([])
    expect(claims(sim)).toEqual([])
  })
})
