import { describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { withSimulator, connectTo, simAuthorization } from '../support/simulator.js'
import { buildSampleHvmImage, type SampleFirmware } from '../../src/image/sample-hvm-image.js'
import { encodeChunkHeader, CHUNK_TERMINATOR } from '../../src/xapi/chunk-framing.js'
import type { Extent } from '../../src/image/extents.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'

const DISK = { mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }
const CD = { ...DISK, mode: 'RO', type: 'CD', empty: true, VDI: 'OpaqueRef:NULL' }

async function upload(sim: Simulator, x: XapiConnection, size: number, extents: readonly Extent[]): Promise<string> {
  const vdi = await x.call<string>('VDI.create', { name_label: 'root', SR: sim.inventory.localSr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {} })
  const body = Buffer.concat([...extents.flatMap((e) => [encodeChunkHeader(e.offset, e.data.length), e.data]), CHUNK_TERMINATOR])
  const task = await x.call<string>('task.create', 'upload', '')
  const url = new URL(`/import_raw_vdi?session_id=${x.sessionId}&task_id=${task}&vdi=${vdi}&format=raw&chunked=true`, sim.url)
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => res.resume().on('end', resolve))
    req.on('error', reject)
    req.end(body)
  })
  expect(await x.watchTask(task)).toBe(vdi)
  return vdi
}

/** An HVM VM with `firmware` and boot `order`, its disk 0 holding the sample image of `layout` (damaged by `damage`). */
async function hvmVm(
  sim: Simulator,
  x: XapiConnection,
  firmware: 'bios' | 'uefi',
  layout: SampleFirmware,
  opts: { order?: string; cd?: boolean; damage?: (e: Extent[], espOffset: number) => Extent[] } = {},
): Promise<string> {
  const img = buildSampleHvmImage({ firmware: layout, diskSize: 64 << 20 })
  const extents = opts.damage ? opts.damage(img.extents, img.layout.espOffset ?? 0) : img.extents
  const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, `hvm-${firmware}`)
  await x.callAsync('VM.provision', vm)
  await x.call('VM.set_HVM_boot_policy', vm, 'BIOS order')
  await x.call('VM.set_HVM_boot_params', vm, { firmware, order: opts.order ?? 'c' })
  if (firmware === 'uefi') await x.call('VM.add_to_platform', vm, 'device-model', 'qemu-upstream-uefi').catch(() => undefined)
  const vdi = await upload(sim, x, img.layout.diskSize, extents)
  await x.call('VBD.create', { ...DISK, VM: vm, VDI: vdi, userdevice: '0', bootable: true })
  if (opts.cd === true) await x.call('VBD.create', { ...CD, VM: vm, userdevice: '3', bootable: false })
  return vm
}

describe('simulated HVM firmware at VM.start (mocks/classes/vm-boot.ts)', () => {
  it('UEFI boots the sample ESP: BOOTX64.EFI, then the kernel from the UFS2 root', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await hvmVm(sim, x, 'uefi', 'uefi')
    await x.callAsync('VM.start', vm, false, false)
    expect(await x.call('VM.get_power_state', vm)).toBe('Running')
    const [boot] = sim.console(vm)
    expect(boot).toMatchObject({ firmware: 'uefi', booted: true, device: 'disk 0', reason: null })
    expect(boot?.chain[0]).toContain('/EFI/BOOT/BOOTX64.EFI')
    expect(boot?.chain.at(-1)).toContain('/boot/kernel/kernel')
  })

  it('BIOS on a UEFI-only disk: the VM is Running, as on Xen, but nothing booted, and the console says why', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await hvmVm(sim, x, 'bios', 'uefi')
    await x.callAsync('VM.start', vm, false, false)
    expect(await x.call('VM.get_power_state', vm)).toBe('Running')
    const [boot] = sim.console(vm)
    expect(boot).toMatchObject({ firmware: 'bios', booted: false, device: null })
    expect(boot?.reason).toMatch(/BIOS found nothing to boot in order "c": disk 0: .*no boot code/)
    expect(boot?.log.at(-1)).toBe('No bootable device.  Retrying in 60 seconds.')
  })

  it('BIOS boots the BIOS sample: MBR code, gptboot, /boot/loader, the kernel', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await hvmVm(sim, x, 'bios', 'bios')
    await x.callAsync('VM.start', vm, false, false)
    expect(sim.console(vm)[0]).toMatchObject({
      booted: true,
      chain: ['boot code in the MBR', 'gptboot in GPT partition 1', expect.stringContaining('/boot/loader'), expect.stringContaining('/boot/kernel/kernel')],
    })
  })

  it('UEFI with a damaged ESP boots nothing and names the damage; a retry after a fix is a second record', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    // The ESP's boot sector zeroed, as a bad copy or a stray dd would leave it.
    const vm = await hvmVm(sim, x, 'uefi', 'uefi', { damage: (e, esp) => e.filter((x) => x.offset !== esp) })
    await x.callAsync('VM.start', vm, false, false)
    const [boot] = sim.console(vm)
    expect(boot).toMatchObject({ booted: false })
    expect(boot?.reason).toMatch(/holds no readable FAT file system: no 0x55AA signature/)
    await x.call('VM.hard_shutdown', vm)
    await x.callAsync('VM.start', vm, false, false)
    expect(sim.console(vm)).toHaveLength(2)
  })

  it('walks the boot order: an empty CD first, then the disk; the control API shows the same record', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await hvmVm(sim, x, 'uefi', 'both', { order: 'dc', cd: true })
    await x.callAsync('VM.start', vm, false, false)
    const [boot] = sim.console(vm)
    expect(boot?.booted).toBe(true)
    expect(boot?.log.slice(1, 3)).toEqual(['BdsDxe: loading Boot0002 "UEFI QEMU DVD-ROM"', 'BdsDxe: failed to load: the CD drive is empty'])
    const res = await fetch(new URL('/_sim/consoles', sim.url), { headers: { authorization: simAuthorization(sim) } })
    expect(((await res.json()) as Record<string, unknown[]>)[vm]).toEqual(sim.console(vm))
  })

  it('order "n" alone finds no PXE server: Running, never booted', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await hvmVm(sim, x, 'bios', 'both', { order: 'n' })
    await x.callAsync('VM.start', vm, false, false)
    expect(sim.console(vm)[0]?.reason).toBe('BIOS found nothing to boot in order "n": network: no PXE server on the simulated network')
  })
})
