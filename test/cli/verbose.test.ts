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
async function tracedRun(args: string[], env: Record<string, string> = {}, arm: (sim: Simulator) => void = () => undefined): Promise<{ r: CliResult; sim: Simulator; sessions: Set<string> }> {
  const sim = await withSimulator({ credentials: { user: 'root', password: PASSWORD } })
  const sessions = new Set<string>()
  sim.state.store.onChange((cls, ref) => {
    if (cls === 'session') sessions.add(ref)
  })
  arm(sim)
  const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image, ...args], { XAPI_PASSWORD: PASSWORD, ...env })
  expect(r.code, r.stderr).toBe(0)
  return { r, sim, sessions }
}

const traced = (stderr: string): RegExpExecArray[] =>
  stderr
    .split('\n')
    .map((l) => TRACE.exec(l))
    .filter((m) => m !== null)

describe('--verbose: each XAPI call with its duration, no secret', () => {
  it("lists every call the simulator received, the client's own and a re-login included, each once with its duration; neither the password nor a session id appears", async () => {
    // One call answers SESSION_INVALID: the client logs in again and reads the pool record
    // before it retries, calls made inside the client that the trace must show too.
    const { r, sim, sessions } = await tracedRun(['--verbose'], {}, (s) => s.faults.add({ method: 'VBD.create', error: ['SESSION_INVALID', 'OpaqueRef:gone'] }))
    const lines = traced(r.stderr)
    const methods = lines.map((m) => m[1])
    const received = sim.calls()
    // Exactly the requests the simulator received, each once (the trace is not a sample).
    // A line is written when its call ends, so calls made together may finish in another order.
    expect([...methods].sort()).toEqual([...received].sort())
    // The client's own calls in the order it makes them: login, pool record, method list
    // first; the logout last (close() waits for it).
    expect(methods.slice(0, 3)).toEqual(['session.login_with_password', 'pool.get_all_records', 'system.listMethods'])
    expect(received.slice(0, 3)).toEqual(methods.slice(0, 3))
    expect(methods.at(-1)).toBe('session.logout')
    expect(received.at(-1)).toBe('session.logout')
    // Each with its own duration: the login line holds the login alone, and the arguments as sent, secrets hidden.
    expect(r.stderr).toMatch(/^xapi session\.login_with_password\(root, <redacted>\) \d+ ms$/m)
    expect(r.stderr).toMatch(/^xapi pool\.get_all_records\(<redacted>\) \d+ ms$/m)
    expect(r.stderr).toMatch(/^xapi session\.logout\(<redacted>\) \d+ ms$/m)
    // The re-login: the failed call, a login and the pool record, then the call again.
    const failed = methods.indexOf('VBD.create')
    expect(lines[failed]![4]).toBe(' -> SESSION_INVALID')
    expect(methods.slice(failed, failed + 4)).toEqual(['VBD.create', 'session.login_with_password', 'pool.get_all_records', 'VBD.create'])
    expect(methods.filter((m) => m === 'session.login_with_password')).toHaveLength(2)
    // The host report is read once: the SR's hosts are checked on what the master's check read.
    for (const m of ['PBD.get_all_records', 'pool.get_uefi_certificates', 'host.get_record']) expect(methods.filter((c) => c === m)).toEqual([m])
    for (const m of ['Async.VM.clone', 'Async.VM.provision', 'VDI.create', 'Async.VM.start', 'VM.set_name_label']) expect(methods).toContain(m)
    expect(r.stderr).toMatch(/^xapi VM\.set_name_label\(<redacted>, OpaqueRef:[\w-]+, FreeBSD-9\.0\) \d+ ms$/m)
    // The trace interleaves with the progress lines and changes nothing on stdout.
    expect(r.stdout).toMatch(/^VM "FreeBSD-9\.0" is Running\.$/m)
    expect(r.stdout).not.toContain('xapi ')
    expect(sessions.size).toBe(2)
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
    ).toEqual(env.sim.calls().sort())
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
