import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'

const env = (sim: { credentials: { user: string; password: string } }): Record<string, string> => ({
  XAPI_USER: sim.credentials.user,
  XAPI_PASSWORD: sim.credentials.password,
})

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fail-'))
}

describe('failures (spawned CLI against an in-process simulator)', () => {
  it('a bad recipe fails before any XAPI call, naming file, field and reason', async () => {
    const sim = await withSimulator()
    const dir = await tmp()
    const recipe = join(dir, 'bad.yaml')
    await writeFile(recipe, 'name: x\nvdi: {virtual_size: 1GiB}\npv: {bootloader: grub}\nmemory: {static_min: 1, static_max: 1, dynamic_min: 1, dynamic_max: 1}\n')
    const r = await runCli([recipe, '--host', sim.url], env(sim))
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(recipe)
    expect(r.stderr).toContain('pv.bootloader')
    expect(r.stderr).toContain('memory.static_min')
    expect(sim.calls()).toEqual([])
  })

  it('a missing image fails before any XAPI call', async () => {
    const sim = await withSimulator()
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', '/nonexistent/disk.img'], env(sim))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Cannot read the image /nonexistent/disk.img [image-unreadable]')
    expect(sim.calls()).toEqual([])
  })

  it('a failure at the VIF step removes the VM, VBD, VIF and VDI this run created, and says so', async () => {
    const sim = await withSimulator()
    const image = join(await tmp(), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const before = sim.objects()
    sim.faults.add({ method: 'VIF.create', error: ['INTERNAL_ERROR', 'injected failure'] })
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image], env(sim))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error: Add the network interface failed')
    expect(r.stderr).toContain('injected failure')
    expect(r.stderr).toMatch(/removed what this run created: VM FreeBSD-9.0 .*; VDI FreeBSD-9.0-vdi/)
    const after = sim.objects()
    for (const cls of ['VM', 'VDI', 'VBD', 'VIF']) expect(Object.keys(after[cls] ?? {}).sort(), cls).toEqual(Object.keys(before[cls] ?? {}).sort())
  })

  it('--keep-on-failure leaves the objects and lists them', async () => {
    const sim = await withSimulator()
    const image = join(await tmp(), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    sim.faults.add({ method: 'VM.start', error: ['BOOTLOADER_FAILED', 'OpaqueRef:x', 'Unable to find partition containing kernel'] })
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--keep-on-failure', '--json'], env(sim))
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as { error: { what: string; why: string; kept: string[] } }
    expect(out.error.why).toContain('pygrub could not boot the disk: Unable to find partition containing kernel')
    expect(out.error.kept).toHaveLength(4)
    expect(Object.values(sim.objects().VM ?? {}).some((v) => v.name_label === 'FreeBSD-9.0 [xcp-provision: incomplete]')).toBe(true)
  })

  it('a wrong password names the user and the fix, and never prints the password', async () => {
    const sim = await withSimulator()
    const image = join(await tmp(), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image], { XAPI_USER: 'root', XAPI_PASSWORD: 'canary-Secret-42' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('rejected user "root"')
    expect(r.stderr + r.stdout).not.toContain('canary-Secret-42')
  })
})
