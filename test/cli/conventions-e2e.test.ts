import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, spawnSimulator } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { until } from '../support/until.js'
import { connect } from '../../src/xapi/connection.js'
import { UserError } from '../../src/errors.js'

// The process contract (docs/cli.md): exit codes, error.code in --json, help. Few spawns: each costs ~0.2 s.
const dir = mkdtempSync(join(tmpdir(), 'cli-conventions-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const errorOf = (stdout: string): { code: string; fix: string } => (JSON.parse(stdout) as { error: { code: string; fix: string } }).error

describe('CLI conventions, as a process', () => {
  it('provision alone prints the overview and exits 0; -h on a command prints its own help', async () => {
    const bare = await runCli([])
    expect(bare.code).toBe(0)
    expect(bare.stdout).toContain('provision rollout <fleet.yaml>')
    const h = await runCli(['rollout', '-h'])
    expect(h.code).toBe(0)
    expect(h.stdout).toContain('provision rollout recipes/fleet-web.yaml --dry-run')
    expect(h.stdout).not.toContain('--fix-offset')
  })

  it('an unknown option exits 2 with error.code bad-argument and a did-you-mean', async () => {
    const r = await runCli(['freebsd-9', '--hots', 'sim', '--json'])
    expect(r.code).toBe(2)
    expect(errorOf(r.stdout)).toMatchObject({ code: 'bad-argument', fix: expect.stringContaining('did you mean --host?') })
  })

  it('an unknown recipe exits 3 (recipe-not-found)', async () => {
    const r = await runCli(['nosuch', '--host', 'sim', '--json'])
    expect(r.code).toBe(3)
    expect(errorOf(r.stdout).code).toBe('recipe-not-found')
  })

  it('sample-image writes an image check-image boots; an unreadable file is exit 2, not "not bootable"', async () => {
    const image = join(dir, 'uefi.img')
    const w = await runCli(['sample-image', image, '--layout', 'uefi'])
    expect(w.code, w.stderr).toBe(0)
    expect(w.stdout).toMatch(/128 MiB/)
    const ok = await runCli(['check-image', image, '--firmware', 'uefi', '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    const missing = await runCli(['check-image', join(dir, 'nothing.img'), '--json'])
    expect(missing.code).toBe(2)
    expect(errorOf(missing.stdout).code).toBe('image-unreadable')
  })

  it("provision sim: a port in use is the user's error (exit 2, port-in-use)", async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    try {
      const port = (busy.address() as { port: number }).port
      const r = await runCli(['sim', '--port', String(port)])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('[port-in-use]')
      expect(r.stderr).not.toContain('report this')
    } finally {
      busy.close()
    }
  })

  it('provision sim says which user it takes and where the password came from, never the password', async () => {
    const sim = await spawnSimulator({ XAPI_PASSWORD: 'hunter2-secret' })
    try {
      await until('the credentials line', () => sim.more.some((l) => l.includes('credentials:')))
      expect(sim.more.join('\n')).toContain("credentials: user root (the simulator's default), password from XAPI_PASSWORD (environment)")
      expect(sim.more.join('\n')).not.toContain('hunter2')
    } finally {
      expect(await sim.stop()).toBe(0)
    }
  })
})

describe('the wrong scheme is named (in-process login)', () => {
  it('https:// to a plain-HTTP XAPI: wrong-scheme, with the URL that works', async () => {
    const sim = await withSimulator()
    const url = sim.url.replace('http:', 'https:')
    const e = await connect({ url, ...sim.credentials }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(UserError)
    expect((e as UserError).code).toBe('wrong-scheme')
    expect((e as UserError).info.fix).toContain(sim.url)
  })
})
