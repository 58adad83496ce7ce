import { describe, expect, it } from 'vitest'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rollout } from '../../src/fleet/rollout.js'
import { UserError } from '../../src/errors.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { ENV, fleetOn, hosts, isReadOnly } from './support.js'

describe('rollout runs the pygrub preflight before any upload', () => {
  it('an image pygrub cannot boot stops the rollout before any XAPI change', async () => {
    const [sim] = await hosts(1)
    const image = join(await mkdtemp(join(tmpdir(), 'fleet-pf-')), 'a16.img')
    await writeSampleImage(image, { partitionOffsetSectors: 16 })
    const fleet = await fleetOn([sim!], ['one', 'two'], { image })
    const err = await rollout({ fleet, env: ENV, baseDir: process.cwd() }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).info.what).toContain('cannot boot')
    // Advice a rollout can follow: rollout has no --fix-offset (docs/cli.md).
    expect((err as UserError).code).toBe('image-not-bootable')
    expect((err as UserError).info.fix).toMatch(/set pv\.bootloader_args to "[^"]*--offset=\d+[^"]*" in the recipe the group uses/)
    expect((err as UserError).info.fix).not.toContain('--fix-offset')
    expect(sim!.calls().filter((m) => !isReadOnly(m))).toEqual([])
  })
})
