import { describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { withSimulator, connectTo } from '../support/simulator.js'
import { rawCall, login } from '../support/rpc.js'
import { until } from '../support/until.js'
import { buildSampleImage } from '../../src/image/sample-image.js'
import { encodeChunkHeader, CHUNK_TERMINATOR } from '../../src/xapi/chunk-framing.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import type { XapiError } from '../../src/xapi/errors.js'

/** Errors raised by VM and VDI lifecycle checks, each driven over the wire, in XAPI's words. */
const codeOf = (p: Promise<unknown>): Promise<string[]> =>
  p.then(
    () => [],
    (e: XapiError) => [e.code, ...e.params],
  )

const DISK = { mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }

/** A halted HVM VM (no bootloader involved at start) with one disk attached as device 0. */
async function hvmVmWithDisk(sim: Simulator, x: XapiConnection): Promise<{ vm: string; vdi: string }> {
  const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'vm')
  await x.callAsync('VM.provision', vm)
  const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: 8 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
  await x.call('VBD.create', { ...DISK, VM: vm, VDI: vdi, userdevice: '0', bootable: true })
  return { vm, vdi }
}

/** A PV VM booting with pygrub from a 64 MiB FreeBSD disk, uploaded through PUT /import_raw_vdi. */
async function pvVmWithImage(sim: Simulator, x: XapiConnection, partitionOffsetSectors: 0 | 16): Promise<string> {
  const { layout, extents } = buildSampleImage({ partitionOffsetSectors })
  const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'pv')
  await x.callAsync('VM.provision', vm)
  await x.call('VM.set_HVM_boot_policy', vm, '')
  await x.call('VM.set_PV_bootloader', vm, 'pygrub')
  // The recipe's arguments: pygrub cannot parse FreeBSD's loader, so it is told the kernel.
  await x.call('VM.set_PV_bootloader_args', vm, '--kernel=/boot/kernel/kernel')
  const vdi = await x.call<string>('VDI.create', { name_label: 'root', SR: sim.inventory.localSr, virtual_size: layout.diskSize, type: 'user', sharable: false, read_only: false, other_config: {} })
  const body = Buffer.concat([...extents.flatMap((e) => [encodeChunkHeader(e.offset, e.data.length), e.data]), CHUNK_TERMINATOR])
  const task = await x.call<string>('task.create', 'upload', '')
  const url = new URL(`/import_raw_vdi?session_id=${x.sessionId}&task_id=${task}&vdi=${vdi}&format=raw&chunked=true`, sim.url)
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => res.resume().on('end', resolve))
    req.on('error', reject)
    req.end(body)
  })
  expect(await x.watchTask(task)).toBe(vdi)
  await x.call('VBD.create', { ...DISK, VM: vm, VDI: vdi, userdevice: '0', bootable: true })
  return vm
}

describe('lifecycle errors', () => {
  it('VM_BAD_POWER_STATE names the expected and actual states in lowercase', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm } = await hvmVmWithDisk(sim, x)
    await x.call('VM.start', vm, false, false)
    expect(await x.call('VM.get_power_state', vm)).toBe('Running')
    expect(await codeOf(x.call('VM.start', vm, false, false))).toEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running'])
    await x.call('VM.hard_shutdown', vm)
    expect(await codeOf(x.call('VM.hard_shutdown', vm))).toEqual(['VM_BAD_POWER_STATE', vm, 'paused, suspended, running', 'halted'])
  })

  it('VDI_IN_USE refuses to destroy a disk attached to a running VM', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm, vdi } = await hvmVmWithDisk(sim, x)
    await x.call('VM.start', vm, false, false)
    expect(await codeOf(x.call('VDI.destroy', vdi))).toEqual(['VDI_IN_USE', vdi, 'destroy'])
    await x.call('VM.hard_shutdown', vm)
    await x.call('VDI.destroy', vdi)
  })

  it('BOOTLOADER_FAILED comes from pygrub reading the uploaded disk at VM.start', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const bad = await pvVmWithImage(sim, x, 16)
    expect(await codeOf(x.callAsync('VM.start', bad, false, false))).toEqual(['BOOTLOADER_FAILED', bad, 'Unable to find partition containing kernel'])
    expect(await x.call('VM.get_power_state', bad)).toBe('Halted')
    const good = await pvVmWithImage(sim, x, 0)
    await x.callAsync('VM.start', good, false, false)
    expect(await x.call('VM.get_power_state', good)).toBe('Running')
  })

  it("BOOTLOADER_FAILED carries XCP-ng pygrub's own message with the xcp-ng flavour", async () => {
    const sim = await withSimulator({ pygrub: 'xcp-ng' })
    const x = await connectTo(sim)
    const bad = await pvVmWithImage(sim, x, 16)
    // XCP-ng's friendly-no-fs patch: the first partition offset must mount.
    expect(await codeOf(x.callAsync('VM.start', bad, false, false))).toEqual(['BOOTLOADER_FAILED', bad, '[Errno 95] Operation not supported'])
  })

  it('TASK_CANCELLED: a pending Async task cancelled before its body runs', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const hold = sim.faults.hold('VM.clone')
    const task = (await rawCall(sim.url, 'Async.VM.clone', s, sim.inventory.template, 'never')).Value as string
    await hold.reached
    expect((await rawCall(sim.url, 'task.get_status', s, task)).Value).toBe('pending')
    expect((await rawCall(sim.url, 'task.cancel', s, task)).Status).toBe('Success')
    hold.release()
    await until('the task to end', async () => (await rawCall(sim.url, 'task.get_status', s, task)).Value !== 'pending')
    expect((await rawCall(sim.url, 'task.get_status', s, task)).Value).toBe('cancelled')
    expect((await rawCall(sim.url, 'task.get_error_info', s, task)).Value).toEqual(['TASK_CANCELLED', task])
    expect((await rawCall(sim.url, 'VM.get_by_name_label', s, 'never')).Value).toEqual([])
  })

  it('task.destroy of a running task only marks it; it goes once it completes', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const mine = (await rawCall(sim.url, 'task.create', s, 'mine', '')).Value as string
    expect((await rawCall(sim.url, 'task.destroy', s, mine)).Status).toBe('Success')
    expect(Object.values((await rawCall(sim.url, 'task.get_current_operations', s, mine)).Value as object)).toEqual(['destroy'])
    expect((await rawCall(sim.url, 'task.set_status', s, mine, 'cancelled')).Status).toBe('Success')
    expect((await rawCall(sim.url, 'task.get_status', s, mine)).ErrorDescription?.[0]).toBe('HANDLE_INVALID')
    const hold = sim.faults.hold('VM.clone')
    const clone = (await rawCall(sim.url, 'Async.VM.clone', s, sim.inventory.template, 'soon')).Value as string
    await hold.reached
    expect((await rawCall(sim.url, 'task.destroy', s, clone)).Status).toBe('Success')
    expect((await rawCall(sim.url, 'task.get_status', s, clone)).Value).toBe('pending')
    hold.release()
    await until('the task to go once complete', async () => (await rawCall(sim.url, 'task.get_status', s, clone)).Status !== 'Success')
    expect((await rawCall(sim.url, 'task.get_status', s, clone)).ErrorDescription?.[0]).toBe('HANDLE_INVALID')
    expect(((await rawCall(sim.url, 'VM.get_by_name_label', s, 'soon')).Value as string[]).length).toBe(1)
  })

  it('OTHER_OPERATION_IN_PROGRESS ["VM", vm, op, task] while another operation holds the VM', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm } = await hvmVmWithDisk(sim, x)
    const hold = sim.faults.hold('VM.start')
    const task = await x.call<string>('Async.VM.start', vm, false, false)
    await hold.reached
    expect(await codeOf(x.call('VM.start', vm, false, false))).toEqual(['OTHER_OPERATION_IN_PROGRESS', 'VM', vm, 'start', task])
    hold.release()
    expect(await x.watchTask(task)).toBe('')
    expect(await x.call('VM.get_current_operations', vm)).toEqual({})
  })

  it('lets clones of one template overlap, as XAPI allows long copies to', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const hold = sim.faults.hold('VM.clone', { times: 0 })
    const cloning = Promise.all(['a', 'b', 'c'].map((n) => x.callAsync<string>('VM.clone', sim.inventory.template, n)))
    // All three in flight at once: none of them waits for another to finish.
    await until('three clones in flight', () => hold.held === 3)
    hold.release()
    const clones = await cloning
    expect(new Set(clones).size).toBe(3)
  })
})
