import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { packageRoot } from '../../src/paths.js'

// `provision <recipe> --detailed-exitcode`, as `terraform plan -detailed-exitcode` and
// `provision rollout --detailed-exitcode`: 0 nothing to do, 2 changes, 1 any error.
const PASSWORD = 'detailed-pw'
const env = { XAPI_PASSWORD: PASSWORD }
const dir = mkdtempSync(join(tmpdir(), 'cli-detailed-'))
const image = join(dir, 'sample.img')
beforeAll(async () => {
  const r = await runCli(['sample-image', image])
  expect(r.code, r.stderr).toBe(0)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('provision --detailed-exitcode', () => {
  it('2 when the VM would be or was made or changed, 0 when it is as the recipe asks, 1 for an error whose usual code is 2', async () => {
    const sim = await withSimulator({ credentials: { user: 'root', password: PASSWORD } })
    const run = (recipe: string, ...more: string[]) => runCli([recipe, '--host', sim.url, '--image', image, '--detailed-exitcode', ...more], env)
    expect((await run('freebsd-9', '--dry-run')).code).toBe(2)
    const made = await run('freebsd-9')
    expect(made.code, made.stderr).toBe(2)
    expect((await run('freebsd-9', '--dry-run')).code).toBe(0)
    expect((await run('freebsd-9')).code).toBe(0)
    // The recipe now asks for two VCPUs: a change, and a disruptive one on a running VM.
    const two = join(dir, 'two-vcpus.yaml')
    writeFileSync(
      two,
      readFileSync(join(packageRoot(), 'recipes', 'freebsd-9.yaml'), 'utf8')
        .replace(/^vcpus: 1$/m, 'vcpus: 2')
        .replace(/^image: .*$/m, ''),
    )
    expect((await run(two, '--dry-run')).code).toBe(2)
    // Without --yes and no terminal: consent-required, exit 2 normally; 1 here, since 2 means "changes".
    const refused = await run(two, '--json')
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stdout).error.code).toBe('consent-required')
    expect((await run(two, '--yes')).code).toBe(2)
    expect((await run(two)).code).toBe(0)
  })
})
