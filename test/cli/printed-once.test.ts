import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'

// docs/cli.md, Output: nothing printed twice. The built CLI spawned, as a user runs it
// (no terminal: every progress line stays in the output, so a repeat would show).
const PASSWORD = 'once-pw'
const env = { XAPI_PASSWORD: PASSWORD }
const dir = mkdtempSync(join(tmpdir(), 'cli-once-'))
const image = join(dir, 'sample.img')
beforeAll(async () => {
  const r = await runCli(['sample-image', image])
  expect(r.code, r.stderr).toBe(0)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Lines that occur more than once; a step's "done (…)" line is one per step by design. */
function repeated(text: string): string[] {
  const seen = new Map<string, number>()
  for (const l of text.split('\n').map((x) => x.trim())) if (l && !/^done \(/.test(l)) seen.set(l, (seen.get(l) ?? 0) + 1)
  return [...seen].filter(([, n]) => n > 1).map(([l]) => l)
}
const count = (text: string, part: string): number => text.split(part).length - 1

describe('nothing printed twice', () => {
  it('a failed provision: what was removed is listed once (in the error), the error once', async () => {
    const sim = await withSimulator({ credentials: { user: 'root', password: PASSWORD } })
    sim.faults.add({ method: 'VBD.create', error: ['SR_BACKEND_FAILURE_44', '', 'There is insufficient space', ''] })
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image], env)
    expect(r.code).toBe(1)
    const all = r.stdout + r.stderr
    expect(repeated(all)).toEqual([])
    expect(count(all, 'error: Attach the disk failed [SR_BACKEND_FAILURE_44]')).toBe(1)
    expect(count(all, 'removed what this run created: VIF ')).toBe(1)
    // Each object removed is named once, in that line.
    for (const what of ['VIF 00:16:3e', 'VM FreeBSD-9.0 (', 'VDI FreeBSD-9.0-vdi (']) expect(count(all, what), what).toBe(1)
  })

  it('a provision with --verify, its re-run and a destroy: every line once', async () => {
    const sim = await withSimulator({ credentials: { user: 'root', password: PASSWORD } })
    const made = await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--verify'], env)
    expect(made.code, made.stderr).toBe(0)
    expect(repeated(made.stdout + made.stderr)).toEqual([])
    expect(count(made.stdout, 'is Running.')).toBe(1)
    expect(made.stdout).toMatch(/^ {2}verify verified 1\/1 segments \(/m)
    expect(count(made.stderr, 'upload 100%')).toBe(1)
    expect(count(made.stderr, 'verify 100%')).toBe(1)

    const again = await runCli(['freebsd-9', '--host', sim.url, '--image', image], env)
    expect(again.code, again.stderr).toBe(0)
    expect(count(again.stdout + again.stderr, 'FreeBSD-9.0')).toBe(1)

    const gone = await runCli(['destroy', 'FreeBSD-9.0', '--host', sim.url, '--yes'], env)
    expect(gone.code, gone.stderr).toBe(0)
    expect(repeated(gone.stdout + gone.stderr)).toEqual([])
    // The VM is named once, in the head; the lines under it are its disks.
    expect(count(gone.stdout, 'VM ')).toBe(1)
  })

  it('check-image of an image neither pygrub boots: the reasons are given once, for both', async () => {
    const zero = join(dir, 'zero.img')
    writeFileSync(zero, Buffer.alloc(1024 * 1024))
    const r = await runCli(['check-image', zero])
    expect(r.code).toBe(1)
    expect(repeated(r.stdout + r.stderr)).toEqual([])
    expect(r.stdout).toContain('(same reasons as above)')
  })
})
