import { afterAll, describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnSimulator, type SpawnedSimulator } from '../support/cli.js'
import { hostileXapi, type Hostility } from '../support/hostile-xapi.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'

const CANARY = 'canary-7f3a-Secret!'

/**
 * One simulator (its own process, the canary as its password) and one sample image for
 * the whole file: no test here needs a fresh host (the runs that make VMs use their own
 * names; the others fail at login or before), and each start cost a process.
 */
let shared: Promise<{ sim: SpawnedSimulator; dir: string; image: string }> | undefined
const world = (): Promise<{ sim: SpawnedSimulator; dir: string; image: string }> =>
  (shared ??= (async () => {
    const sim = await spawnSimulator({ XAPI_USER: 'root', XAPI_PASSWORD: CANARY })
    const dir = await mkdtemp(join(tmpdir(), 'canary-'))
    const image = join(dir, 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    return { sim, dir, image }
  })())
afterAll(async () => {
  await (await shared)?.sim.stop()
  shared = undefined
})

describe('secrets', () => {
  it('the password never appears in any output: success, --json, --dry-run, a failure, a wrong login', async () => {
    const env = { XAPI_USER: 'root', XAPI_PASSWORD: CANARY }
    const { sim, image } = await world()
    const runs = [
      await runCli(['freebsd-9', '--host', sim.url, '--image', image], env),
      await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'two', '--json'], env),
      await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'three', '--dry-run'], env),
      await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'three', '--dry-run', '--json'], env),
      // Runs again: the VM exists with these settings, so nothing to do (exit 0), the canary still in use.
      await runCli(['freebsd-9', '--host', sim.url, '--image', image], env),
      // A wrong password that contains the canary.
      await runCli(['freebsd-9', '--host', sim.url, '--image', image], { XAPI_USER: 'root', XAPI_PASSWORD: `${CANARY}x` }),
    ]
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 1])
    for (const r of runs) {
      expect(r.stdout).not.toContain(CANARY)
      expect(r.stderr).not.toContain(CANARY)
      // Session ids are secrets too: they would let anyone act as the user.
      expect(r.stdout + r.stderr).not.toMatch(/session_id=OpaqueRef/)
    }
  })

  it('reads the password from --password-file and never from an argument', async () => {
    const { sim, dir, image } = await world()
    const file = join(dir, 'pw')
    await writeFile(file, `${CANARY}\n`, { mode: 0o600 })
    const ok = await runCli(['freebsd-9', '--host', sim.url, '--name', 'pw', '--dry-run', '--password-file', file, '--image', image], { XAPI_USER: 'root' })
    expect(ok.code, ok.stderr).toBe(0)
    const wrong = join(dir, 'wrong')
    await writeFile(wrong, 'not-it\n')
    const denied = await runCli(['freebsd-9', '--host', sim.url, '--dry-run', '--password-file', wrong, '--image', image], { XAPI_USER: 'root' })
    expect(denied.stderr).toContain('rejected user "root"')
    // No file, no variable, no terminal: a clear error, not a hang on a prompt.
    const none = await runCli(['freebsd-9', '--host', sim.url, '--image', image], { XAPI_USER: 'root' })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no password')
  })

  describe('hostile servers: whatever a host echoes back of the secrets stays hidden', () => {
    const cases: [string, Hostility][] = [
      ['a login fault that quotes the password', { on: 'session.login_with_password', answer: 'fault' }],
      ['a fault that quotes the session id and the password', { on: 'SR.get_by_name_label', answer: 'fault' }],
      ['an HTTP 500 whose headers and body quote them', { on: 'SR.get_by_name_label', answer: 'http-500' }],
    ]
    it.each(cases)('%s: not on stderr, not in --json', async (_, hostility) => {
      const env = { XAPI_USER: 'root', XAPI_PASSWORD: CANARY }
      const { sim, image } = await world()
      const front = await hostileXapi(sim.url, hostility)
      try {
        // A name no earlier test made: the run gets as far as the hostile call (SR lookup comes when a VM is made).
        const args = ['freebsd-9', '--host', front.url, '--image', image, '--name', 'hostile']
        const runs = [await runCli(args, env), await runCli([...args, '--json'], env)]
        for (const r of runs) {
          expect(r.code, r.stderr).toBe(1)
          const all = r.stdout + r.stderr
          expect(all).not.toContain(CANARY)
          for (const session of front.sessions()) expect(all).not.toContain(session)
          // Still a useful message: the code XAPI answered stays, only the secrets go.
          expect(all).toMatch(/<redacted>|SESSION_AUTHENTICATION_FAILED|HTTP|statusCode/)
        }
        // The --json error is still valid JSON after redaction.
        expect(() => JSON.parse(runs[1]!.stdout)).not.toThrow()
        if (hostility.on !== 'session.login_with_password') expect(front.sessions().length).toBeGreaterThan(0)
      } finally {
        await front.close()
      }
    })

    it('a --host URL with credentials that does not parse is not echoed with its password', async () => {
      for (const host of [`https://root:${CANARY}@[not-a-host`, `root:${CANARY}@[nope`]) {
        const r = await runCli(['freebsd-9', '--host', host], { XAPI_USER: 'root', XAPI_PASSWORD: 'other-password' })
        expect(r.code).toBe(2)
        expect(r.stderr).toContain('is not a host')
        expect(r.stderr).not.toContain(CANARY)
      }
    })
  })
})
