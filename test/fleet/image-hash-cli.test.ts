import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { writeSampleImage } from '../../src/image/write-image.js'
import { runCli } from '../support/cli.js'
import { ENV, fleetOn, hosts } from './support.js'

describe('provision rollout (the built CLI): a large image hash', () => {
  it('shows its progress in a log, on a worker inside the bundle; the next run takes it from the cache and says nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hash-cli-'))
    const image = join(dir, 'big.img')
    // Over 256 MiB: the worker reports once (image-hash-run.ts), at ~86 %; each MiB costs the run ~0.9 ms of CPU.
    await writeSampleImage(image, { diskSize: 300 * 1024 * 1024 })
    await new Promise((resolve) => setTimeout(resolve, 2100)) // the cache keeps only images unchanged for 2 s
    const [sim] = await hosts(1)
    const file = join(dir, 'fleet.yaml')
    await writeFile(file, stringify(await fleetOn([sim!], 'web-1', { image })))
    const env = { ...ENV, XDG_CACHE_HOME: join(dir, 'cache') }

    const first = await runCli(['rollout', file, '--dry-run'], env)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toMatch(/^image big\.img: sha256 \d+%$/m)
    expect((await stat(join(dir, 'cache', 'xcp-provision', 'image-sha256.json'))).mode & 0o777).toBe(0o600)

    const second = await runCli(['rollout', file, '--dry-run'], env)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).not.toContain('sha256')
    expect(second.stdout).toBe(first.stdout)
    await rm(dir, { recursive: true, force: true })
  })
})
