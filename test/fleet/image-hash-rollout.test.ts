import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cacheFile } from '../../src/fleet/hash-cache.js'
import { TAG } from '../../src/fleet/inventory.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { rollout } from '../../src/index.js'
import { withSimulator } from '../support/simulator.js'
import { ENV, fleetOn } from './support.js'

const saved = process.env.XDG_CACHE_HOME
afterEach(() => {
  process.env.XDG_CACHE_HOME = saved
})

describe('rollout: the image hash cache', () => {
  it('a re-rollout of the unchanged image takes its sha256 from the cache; a touched image is hashed again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hash-rollout-'))
    process.env.XDG_CACHE_HOME = join(dir, 'cache')
    const image = join(dir, 'freebsd.img')
    await writeSampleImage(image, { diskSize: 16 * 1024 * 1024 })
    // The cache keeps only an image unchanged for 2 s (hash-cache.ts).
    await new Promise((resolve) => setTimeout(resolve, 2100))
    const real = execFileSync('sha256sum', [image], { encoding: 'utf8' }).split(' ')[0]!
    const sim = await withSimulator()
    const configs = (): Record<string, string>[] => Object.values(sim.objects().VDI ?? {}).map((v) => (v as { other_config: Record<string, string> }).other_config)
    const shas = (): string[] =>
      configs()
        .filter((o) => o[TAG.imageSha256] && !o[TAG.vm])
        .map((o) => o[TAG.imageSha256]!)
        .sort()
    /** The hash a VM's disk was cloned under (VDI.clone copies the base's other_config). */
    const diskSha = (vm: string): string | undefined => configs().find((o) => o[TAG.vm] === vm)?.[TAG.imageSha256]

    expect((await rollout({ fleet: await fleetOn([sim], 'web-01', { image }), env: ENV })).ok).toBe(true)
    expect(shas()).toEqual([real])
    const file = cacheFile(process.env)
    const cached = JSON.parse(await readFile(file, 'utf8')) as { entries: { path: string; sha256: string }[] }
    expect(cached.entries.map((e) => e.sha256)).toEqual([real])

    // A planted value: a rollout that hashed the image would never see it; one that trusts the cache does.
    const planted = 'f'.repeat(64)
    cached.entries[0]!.sha256 = planted
    await writeFile(file, JSON.stringify(cached))
    expect((await rollout({ fleet: await fleetOn([sim], 'web-{01..02}', { image }), env: ENV })).ok).toBe(true)
    expect(shas()).toEqual([real, planted])
    expect(diskSha('web-02')).toBe(planted)

    // touch -d back to the same mtime: ctime changes, so the entry no longer matches and the image is hashed again.
    const ref = join(dir, 'times')
    await writeFile(ref, '')
    execFileSync('touch', ['-r', image, ref])
    execFileSync('touch', ['-r', ref, image])
    expect((await stat(image, { bigint: true })).mtimeNs).toBe((await stat(ref, { bigint: true })).mtimeNs)
    const creates = sim.calls().filter((m) => m === 'VDI.create').length
    expect((await rollout({ fleet: await fleetOn([sim], 'web-{01..03}', { image }), env: ENV })).ok).toBe(true)
    // web-03's disk is a clone of the first base, found by the real hash: nothing uploaded.
    expect(sim.calls().filter((m) => m === 'VDI.create').length).toBe(creates)
    expect(diskSha('web-03')).toBe(real)
    expect(shas()).toEqual([real, planted])
    await rm(dir, { recursive: true, force: true })
  }, 60_000)
})
