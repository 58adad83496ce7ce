import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeSampleImage } from '../../src/image/write-image.js'
import { ProvisionResult } from '../../src/provision/types.js'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { testDisks } from '../image/helpers/disks.js'
import { writeExtents } from '../image/helpers/images.js'

const env = (sim: { credentials: { user: string; password: string } }): Record<string, string> => ({
  XAPI_USER: sim.credentials.user,
  XAPI_PASSWORD: sim.credentials.password,
})

async function a16(): Promise<string> {
  const image = join(await mkdtemp(join(tmpdir(), 'preflight-e2e-')), 'a16.img')
  await writeSampleImage(image, { partitionOffsetSectors: 16 })
  return image
}

describe('the preflight before every upload (spawned CLI against an in-process simulator)', () => {
  it('stops an image pygrub cannot boot before any XAPI call, saying why and how to fix it', async () => {
    const sim = await withSimulator()
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', await a16()], env(sim))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: The image .*a16\.img cannot boot/)
    expect(r.stderr).toContain('partition a starts 16 sectors into the slice; pygrub reads only the slice start')
    expect(r.stderr).toContain('--fix-offset')
    expect(sim.calls()).toEqual([])
  })

  it('--fix-offset puts --offset=<partition a> in PV-bootloader-args, and the VM boots', async () => {
    const sim = await withSimulator()
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', await a16(), '--fix-offset', '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    const out = ProvisionResult.parse(JSON.parse(r.stdout))
    expect(out.vm.power_state).toBe('Running')
    expect(out.preflight).toMatchObject({ skipped: false, offset_fixed: 40448, bootloader_args: '--kernel=/boot/kernel/kernel --offset=40448' })
    const vm = sim.objects().VM?.[out.vm.ref]
    expect(vm?.PV_bootloader_args).toBe('--kernel=/boot/kernel/kernel --offset=40448')
  })

  it('--skip-preflight uploads anyway, and the simulated pygrub then fails as predicted', async () => {
    const sim = await withSimulator()
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', await a16(), '--skip-preflight'], env(sim))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('warning: --skip-preflight')
    expect(r.stderr).toContain('Unable to find partition containing kernel')
    expect(sim.calls()).toContain('Async.VM.start')
    expect(Object.values(sim.objects().VM ?? {}).some((vm) => vm.name_label === 'FreeBSD-9.0')).toBe(false) // rolled back
  })

  it('GPT: boots on the upstream simulator with a warning for XCP-ng; --fix-offset makes an XCP-ng simulator boot it', async () => {
    const gpt = testDisks().find((d) => d.name === 'gpt-boot-then-ufs1')
    if (gpt === undefined) throw new Error('no GPT test disk')
    const image = join(await mkdtemp(join(tmpdir(), 'preflight-e2e-')), 'gpt.img')
    writeExtents(image, gpt.size, gpt.extents)
    const upstream = await withSimulator()
    const warned = await runCli(['freebsd-9', '--host', upstream.url, '--image', image], env(upstream))
    expect(warned.code, warned.stderr).toBe(0)
    expect(warned.stderr).toContain("warning: an XCP-ng host's pygrub would not boot this image")
    const xcpng = await withSimulator({ pygrub: 'xcp-ng' })
    const fixed = await runCli(['freebsd-9', '--host', xcpng.url, '--image', image, '--fix-offset', '--json'], env(xcpng))
    expect(fixed.code, fixed.stderr).toBe(0)
    expect(ProvisionResult.parse(JSON.parse(fixed.stdout)).preflight?.offset_fixed).toBe(2048 * 512)
  })
})
