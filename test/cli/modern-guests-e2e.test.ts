import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeSampleHvmImage, writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_HVM, SMALL_KERNEL, SMALL_PV } from '../support/sample-images.js'
import { DryRunResult, ProvisionResult } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'

const env = (sim: Simulator): Record<string, string> => ({ XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })
const dir = (): Promise<string> => mkdtemp(join(tmpdir(), 'modern-e2e-'))

/**
 * Each sample image is built once per file (no run writes to it), with the small kernel:
 * here it is only carried and its ELF header read; the sample's 3 MiB of pseudo-random
 * bytes cost CPU to make, upload and hash in every run.
 */
const built = new Map<string, Promise<string>>()
function once(key: string, make: (image: string) => Promise<unknown>): Promise<string> {
  let p = built.get(key)
  if (!p) {
    p = (async () => {
      const image = join(await dir(), `${key}.img`)
      await make(image)
      return image
    })()
    built.set(key, p)
  }
  return p
}

const hvmImage = (firmware: 'bios' | 'uefi'): Promise<string> => once(firmware, (image) => writeSampleHvmImage(image, { firmware, diskSize: SMALL_HVM, kernelSize: SMALL_KERNEL }))

const pvImage = (): Promise<string> => once('pv', (image) => writeSampleImage(image, { diskSize: SMALL_PV, kernelSize: SMALL_KERNEL }))

/** Every object class a run could create, counted. */
const counts = (sim: Simulator): Record<string, number> => Object.fromEntries(['VM', 'VDI', 'VBD', 'VIF', 'task'].map((c) => [c, Object.keys(sim.objects()[c] ?? {}).length]))

const isReadOnly = (m: string): boolean => /^(session\.|system\.listMethods$|event\.from$|[A-Za-z_]+\.get_)/.test(m)

describe('modern guests end to end (spawned CLI, in-process simulator of each release)', () => {
  it('freebsd-14 on XCP-ng 8.3: an HVM VM with UEFI firmware, disk first, Secure Boot off, no PV bootloader, running', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const r = await runCli(['freebsd-14', '--host', sim.url, '--image', await hvmImage('uefi'), '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    const out = ProvisionResult.parse(JSON.parse(r.stdout))
    const vm = sim.objects().VM![out.vm.ref]!
    expect(vm).toMatchObject({
      power_state: 'Running',
      domain_type: 'hvm',
      HVM_boot_policy: 'BIOS order',
      HVM_boot_params: { firmware: 'uefi', order: 'c' },
      PV_bootloader: '',
      PV_bootloader_args: '',
      PV_args: '',
    })
    expect(vm.platform).toMatchObject({ secureboot: 'false', 'device-model': 'qemu-upstream-uefi' })
    expect(vm.platform).not.toHaveProperty('viridian')
    expect(out.host?.master).toMatchObject({ release: 'XCP-ng 8.3.0', api_version: '2.21', capabilities: { pv: false, hvm: true, uefi: true } })
  })

  it('freebsd-13 on XCP-ng 8.3: BIOS firmware, and the device model XAPI adds for BIOS', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const r = await runCli(['freebsd-13', '--host', sim.url, '--image', await hvmImage('bios'), '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    const vm = sim.objects().VM![ProvisionResult.parse(JSON.parse(r.stdout)).vm.ref]!
    expect(vm).toMatchObject({ domain_type: 'hvm', HVM_boot_params: { firmware: 'bios', order: 'c' }, power_state: 'Running' })
    expect(vm.platform).toMatchObject({ secureboot: 'false', 'device-model': 'qemu-upstream-compat' })
  })

  it('debian-12 on its own template: Secure Boot "auto" becomes off at start in a pool without UEFI certificates, with a warning', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const r = await runCli(['debian-12', '--host', sim.url, '--image', await hvmImage('uefi'), '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('the pool has no UEFI certificates')
    const vm = sim.objects().VM![ProvisionResult.parse(JSON.parse(r.stdout)).vm.ref]!
    expect(vm.platform).toMatchObject({ secureboot: 'false', device_id: '0001', vga: 'std' })
    expect(vm.other_config).toMatchObject({ base_template_name: 'Debian Bookworm 12' })
  })

  it('a pvh recipe: domain_type pvh with pygrub, HVM boot policy empty, and a warning that PVH is experimental', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const recipe = join(await dir(), 'pvh.yaml')
    await writeFile(
      recipe,
      [
        'name: pvh-guest',
        'vdi: { virtual_size: 1GiB }',
        'memory: { static_min: 128MiB, static_max: 256MiB, dynamic_min: 256MiB, dynamic_max: 256MiB }',
        'boot: { mode: pvh }',
        'pv: { bootloader_args: --kernel=/boot/kernel/kernel }',
        '',
      ].join('\n'),
    )
    const r = await runCli([recipe, '--host', sim.url, '--image', await pvImage(), '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('experimental on XCP-ng')
    const vm = sim.objects().VM![ProvisionResult.parse(JSON.parse(r.stdout)).vm.ref]!
    expect(vm).toMatchObject({ domain_type: 'pvh', HVM_boot_policy: '', HVM_boot_params: {}, PV_bootloader: 'pygrub', PV_bootloader_args: '--kernel=/boot/kernel/kernel', power_state: 'Running' })
  })

  it('the PV recipe against XCP-ng 8.3 is refused before any change: exit 1, what/why/fix, nothing created, only reads made', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const before = counts(sim)
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', await pvImage(), '--json'], env(sim))
    expect(r.code).toBe(1)
    const err = (JSON.parse(r.stdout) as { error: { what: string; why: string; fix: string; removed: string[] } }).error
    expect(err.what).toContain('XCP-ng 8.3.0 cannot run the PV guest')
    expect(err.why).toContain('removed PV mode')
    expect(err.fix).toContain('use an HVM recipe')
    expect(err.removed).toEqual([])
    expect(counts(sim)).toEqual(before)
    expect(sim.calls().filter((m) => !isReadOnly(m))).toEqual([])
  })

  it('the PV recipe against XCP-ng 8.2 works as it always did: pygrub, domain_type pv, running', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.2' })
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', await pvImage(), '--json'], env(sim))
    expect(r.code, r.stderr).toBe(0)
    const out = ProvisionResult.parse(JSON.parse(r.stdout))
    expect(sim.objects().VM![out.vm.ref]).toMatchObject({ domain_type: 'pv', HVM_boot_policy: '', PV_bootloader: 'pygrub', power_state: 'Running' })
    expect(out.preflight?.kernel_elf_class).toBe(64)
    expect(out.host?.master).toMatchObject({ release: 'XCP-ng 8.2.1', capabilities: { pv: true, pv32: false } })
  })

  it('--dry-run shows the detected release and capabilities, and the hvm step with the platform it would set', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const image = await hvmImage('uefi')
    const text = await runCli(['freebsd-14', '--host', sim.url, '--image', image, '--dry-run'], env(sim))
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/master xcp1: XCP-ng 8\.3\.0, API 2\.21; hvm yes, uefi yes, pv no, 32-bit pv no/)
    const json = DryRunResult.parse(JSON.parse((await runCli(['freebsd-14', '--host', sim.url, '--image', image, '--dry-run', '--json'], env(sim))).stdout))
    expect(json.calls.filter((c) => c.step === 'vm.hvm').map((c) => c.call)).toContain('VM.set_HVM_boot_params {firmware: uefi, order: c}')
    expect(json.calls.some((c) => c.step === 'vm.pv')).toBe(false)
    expect(json.host?.master.software_version).toMatchObject({ product_brand: 'XCP-ng', product_version: '8.3.0', platform_version: '3.4.0' })
  })

  it('--host sim picks the newest release that runs the recipe and says which; --sim-profile forces one', async () => {
    const pv = await runCli(['freebsd-9', '--host', 'sim', '--dry-run'])
    expect(pv.code, pv.stderr).toBe(0)
    expect(pv.stderr).toContain('simulating XCP-ng 8.2.1 (profile xcp-ng-8.2): the newest simulated release that runs this pv recipe')
    const hvm = await runCli(['freebsd-14', '--host', 'sim', '--dry-run'])
    expect(hvm.stderr).toContain('simulating XCP-ng 8.3.0 (profile xcp-ng-8.3)')
    const forced = await runCli(['freebsd-9', '--host', 'sim', '--sim-profile', 'xcp-ng-8.3', '--json'])
    expect(forced.code).toBe(1)
    expect(forced.stdout).toContain('cannot run the PV guest')
  })
})
