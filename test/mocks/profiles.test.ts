import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { runCli, spawnSimulator } from '../support/cli.js'
import { buildSampleImage } from '../../src/image/sample-image.js'
import { PROFILES } from '../../mocks/profiles.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import type { XapiError } from '../../src/xapi/errors.js'

const codeOf = (p: Promise<unknown>): Promise<string[]> =>
  p.then(
    () => [],
    (e: XapiError) => [e.code, ...e.params],
  )

/**
 * A halted PV VM booting with pygrub from the sample FreeBSD disk, written straight into
 * the simulated SR; `bits: 32` turns the kernel's ELF class into ELFCLASS32 (an i386 kernel).
 */
async function pvVm(sim: Simulator, x: XapiConnection, bits: 32 | 64): Promise<string> {
  const { layout, extents } = buildSampleImage()
  const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'pv')
  await x.callAsync('VM.provision', vm)
  await x.call('VM.set_HVM_boot_policy', vm, '')
  await x.call('VM.set_PV_bootloader', vm, 'pygrub')
  await x.call('VM.set_PV_bootloader_args', vm, '--kernel=/boot/kernel/kernel')
  const vdi = await x.call<string>('VDI.create', { name_label: 'root', SR: sim.inventory.localSr, virtual_size: layout.diskSize, type: 'user', sharable: false, read_only: false, other_config: {} })
  const disk = sim.state.disks.get(vdi)!
  for (const e of extents) {
    const data = Buffer.from(e.data)
    const at = data.indexOf('\x7fELF\x02\x01\x01\x09', 0, 'latin1')
    if (bits === 32 && at >= 0) data[at + 4] = 1
    disk.write(e.offset, data)
  }
  await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
  return vm
}

describe('simulator profiles: each release as a client sees it', () => {
  it.each(PROFILES.map((p) => [p.name, p] as const))('%s: software_version, API version, Xen capabilities and its templates', async (name, p) => {
    const sim = await withSimulator({ profile: name })
    const x = await connectTo(sim)
    const host = await x.call<Record<string, unknown>>('host.get_record', sim.inventory.host)
    expect(host.software_version).toMatchObject({ product_brand: p.software_version.product_brand, product_version: p.software_version.product_version, xapi: p.software_version.xapi })
    expect([Number(host.API_version_major), Number(host.API_version_minor)]).toEqual([p.api.major, p.api.minor])
    expect(host.capabilities).toEqual(p.capabilities)
    for (const t of p.templates()) expect(await x.call<string[]>('VM.get_by_name_label', t.name_label)).toHaveLength(1)
  })

  it('xcp-ng-8.3: VM.start of a PV VM fails in the domain builder after pygrub, as xenopsd reports it, and the VM stays Halted', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const x = await connectTo(sim)
    const vm = await pvVm(sim, x, 64)
    const uuid = await x.call<string>('VM.get_uuid', vm)
    const [code, message] = await codeOf(x.callAsync('VM.start', vm, false, false))
    expect(code).toBe('INTERNAL_ERROR')
    expect(message).toBe(`xenopsd internal error: VM = ${uuid}; domid = 1; xc_dom_compat_check: XCP-ng 8.3.0 runs no PV guests`)
    expect(await x.call('VM.get_power_state', vm)).toBe('Halted')
  })

  it("xcp-ng-8.2 runs a 64-bit PV kernel but refuses a 32-bit one in libxenguest's words; xcp-1.1 runs both", async () => {
    const s82 = await withSimulator({ profile: 'xcp-ng-8.2' })
    const x82 = await connectTo(s82)
    await x82.callAsync('VM.start', await pvVm(s82, x82, 64), false, false)
    const [code, message] = await codeOf(x82.callAsync('VM.start', await pvVm(s82, x82, 32), false, false))
    expect(code).toBe('INTERNAL_ERROR')
    expect(message).toMatch(/xc_dom_compat_check: guest type xen-3\.0-x86_32p not supported by xen kernel, sorry$/)
    const s11 = await withSimulator({ profile: 'xcp-1.1' })
    const x11 = await connectTo(s11)
    const vm = await pvVm(s11, x11, 32)
    await x11.callAsync('VM.start', vm, false, false)
    expect(await x11.call('VM.get_domain_type', vm)).toBe('pv')
  })

  it('VM.start resolves platform:secureboot "auto" from the pool certificates, as xapi_vm.ml does', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', (await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12'))[0]!, 'd')
    await x.callAsync('VM.provision', vm)
    await x.call('VM.start', vm, false, false)
    expect(await x.call('VM.get_platform', vm)).toMatchObject({ secureboot: 'false', 'device-model': 'qemu-upstream-uefi' })
  })

  it('provision sim --profile serves that release; an unknown profile is a usage error', async () => {
    const image = join(await mkdtemp(join(tmpdir(), 'profiles-')), 'uefi.img')
    await writeSampleHvmImage(image, { firmware: 'uefi' })
    const sim = await spawnSimulator({}, ['--profile', 'xenserver-8'])
    try {
      const r = await runCli(['freebsd-14', '--host', sim.url, '--image', image, '--dry-run', '--json'], { XAPI_USER: 'root', XAPI_PASSWORD: 'simulator' })
      expect(r.code, r.stderr).toBe(0)
      expect((JSON.parse(r.stdout) as { host: { master: { release: string } } }).host.master.release).toBe('XenServer 8.4.0')
    } finally {
      await sim.stop()
    }
    const bad = await runCli(['sim', '--profile', 'xcp-ng-9.9'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('No simulator profile "xcp-ng-9.9"')
  })
})
