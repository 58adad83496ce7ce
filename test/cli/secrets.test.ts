import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnSimulator } from '../support/cli.js'
import { writeSampleImage } from '../../src/image/write-image.js'

const CANARY = 'canary-7f3a-Secret!'

describe('secrets', () => {
  it('the password never appears in any output: success, --json, --dry-run, a failure, a wrong login', async () => {
    const env = { XAPI_USER: 'root', XAPI_PASSWORD: CANARY }
    const sim = await spawnSimulator(env)
    try {
      const dir = await mkdtemp(join(tmpdir(), 'canary-'))
      const image = join(dir, 'img')
      await writeSampleImage(image)
      const runs = [
        await runCli(['freebsd-9', '--host', sim.url, '--image', image], env),
        await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'two', '--json'], env),
        await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'three', '--dry-run'], env),
        await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'three', '--dry-run', '--json'], env),
        // Fails (name taken), with the canary still in use.
        await runCli(['freebsd-9', '--host', sim.url, '--image', image], env),
        // A wrong password that contains the canary.
        await runCli(['freebsd-9', '--host', sim.url, '--image', image], { XAPI_USER: 'root', XAPI_PASSWORD: `${CANARY}x` }),
      ]
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 1, 1])
      for (const r of runs) {
        expect(r.stdout).not.toContain(CANARY)
        expect(r.stderr).not.toContain(CANARY)
        // Session ids are secrets too: they would let anyone act as the user.
        expect(r.stdout + r.stderr).not.toMatch(/session_id=OpaqueRef/)
      }
    } finally {
      await sim.stop()
    }
  })

  it('reads the password from --password-file and never from an argument', async () => {
    const sim = await spawnSimulator({ XAPI_USER: 'root', XAPI_PASSWORD: CANARY })
    try {
      const dir = await mkdtemp(join(tmpdir(), 'pwfile-'))
      const file = join(dir, 'pw')
      await writeFile(file, `${CANARY}\n`, { mode: 0o600 })
      const image = join(dir, 'img')
      await writeSampleImage(image)
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
    } finally {
      await sim.stop()
    }
  })
})
