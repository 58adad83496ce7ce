import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, type CliResult } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import type { Simulator } from '../../mocks/simulator.js'

// --verbose and XCP_PROVISION_LOG=verbose (docs/cli.md, Output): a real provision against
// the simulator, the built CLI spawned, the trace read from its stderr.
const PASSWORD = 'Tr4ce-Secret-pw'
const dir = mkdtempSync(join(tmpdir(), 'cli-verbose-'))
const image = join(dir, 'sample.img')
beforeAll(async () => {
  const r = await runCli(['sample-image', image])
  expect(r.code, r.stderr).toBe(0)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A trace line: `xapi <method>(<args>) <duration>[ -> <error code>]`. */
const TRACE = /^xapi ([\w.]+)\((.*)\) (\d+ ms|\d+\.\d s|\d+ min \d\d s)( -> \S+)?$/

/** One provision of the sample image against a fresh simulator; the session ids it handed out, as the simulator's store saw them. */
async function tracedRun(args: string[], env: Record<string, string> = {}): Promise<{ r: CliResult; sim: Simulator; sessions: Set<string> }> {
  const sim = await withSimulator({ credentials: { user: 'root', password: PASSWORD } })
  const sessions = new Set<string>()
  sim.state.store.onChange((cls, ref) => {
    if (cls === 'session') sessions.add(ref)
  })
  const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image, ...args], { XAPI_PASSWORD: PASSWORD, ...env })
  expect(r.code, r.stderr).toBe(0)
  return { r, sim, sessions }
}

/**
 * The calls the simulator received, less the xen-api client's own: after the login it reads
 * the pool record and the method list (the traced login's duration covers them), and
 * close() logs out. Those are made inside the client, past the one place that traces.
 */
const runCalls = (sim: Simulator): string[] => {
  const calls = sim.calls()
  const login = calls.indexOf('session.login_with_password')
  expect(calls.slice(login + 1, login + 3)).toEqual(['pool.get_all_records', 'system.listMethods'])
  return [...calls.slice(0, login + 1), ...calls.slice(login + 3)].filter((c) => c !== 'session.logout')
}

const traced = (stderr: string): RegExpExecArray[] =>
  stderr
    .split('\n')
    .map((l) => TRACE.exec(l))
    .filter((m) => m !== null)

describe('--verbose: each XAPI call with its duration, no secret', () => {
  it('lists every call the run made, each once with its duration; neither the password nor a session id appears', async () => {
    const { r, sim, sessions } = await tracedRun(['--verbose'])
    const lines = traced(r.stderr)
    const methods = lines.map((m) => m[1])
    // The calls the simulator received, each once (the trace is not a sample). A line is
    // written when its call ends, so calls made together may finish in another order.
    expect([...methods].sort()).toEqual(runCalls(sim).sort())
    expect(methods[0]).toBe('session.login_with_password')
    expect(lines[0]![2]).toBe('root')
    for (const m of ['Async.VM.clone', 'Async.VM.provision', 'VDI.create', 'VBD.create', 'Async.VM.start', 'VM.set_name_label']) expect(methods).toContain(m)
    expect(r.stderr).toMatch(/^xapi VM\.set_name_label\(OpaqueRef:[\w-]+, FreeBSD-9\.0\) \d+ ms$/m)
    // The trace interleaves with the progress lines and changes nothing on stdout.
    expect(r.stdout).toMatch(/^VM "FreeBSD-9\.0" is Running\.$/m)
    expect(r.stdout).not.toContain('xapi ')
    expect(sessions.size).toBeGreaterThan(0)
    for (const secret of [PASSWORD, ...sessions]) {
      expect(r.stderr).not.toContain(secret)
      expect(r.stdout).not.toContain(secret)
    }
  })

  it('XCP_PROVISION_LOG=verbose does the same for a whole CI job; --quiet on the command line wins over it', async () => {
    const env = await tracedRun([], { XCP_PROVISION_LOG: 'verbose' })
    expect(
      traced(env.r.stderr)
        .map((m) => m[1])
        .sort(),
    ).toEqual(runCalls(env.sim).sort())
    expect(env.r.stderr).not.toContain(PASSWORD)
    const quiet = await tracedRun(['--quiet'], { XCP_PROVISION_LOG: 'verbose' })
    expect(traced(quiet.r.stderr)).toEqual([])
    expect(quiet.r.stderr).not.toContain('Create the VDI')
  })

  it('without either: no trace', async () => {
    const { r } = await tracedRun([])
    expect(traced(r.stderr)).toEqual([])
  })
})
