import { describe, expect, it } from 'vitest'
import { connectTo, withSimulator } from '../support/simulator.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import { reportGuest } from '../../mocks/guest/agent.js'
import { login, rawCall } from '../support/rpc.js'

/** xapi's rules for power operations, device hot-plug, resize and allowed_operations, over the real client. */
async function vmWithDisk(sim: Simulator, x: XapiConnection): Promise<{ vm: string; vbd: string; vdi: string; cd: string }> {
  const vm = await x.call<string>('VM.clone', sim.inventory.template, 'v')
  await x.call('VM.provision', vm)
  const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: 8 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
  const vbd = await x.call<string>('VBD.create', {
    VM: vm,
    VDI: vdi,
    userdevice: '1',
    bootable: false,
    mode: 'RW',
    type: 'Disk',
    empty: false,
    unpluggable: true,
    other_config: {},
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  })
  const cd = await x.call<string>('VBD.create', {
    VM: vm,
    VDI: 'OpaqueRef:NULL',
    userdevice: '3',
    bootable: false,
    mode: 'RO',
    type: 'CD',
    empty: true,
    other_config: {},
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  })
  return { vm, vbd, vdi, cd }
}

const code = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'ok',
    (e: { code?: string; params?: unknown[] }) => [e.code, ...(e.params ?? [])],
  )

describe('power operations and devices as xapi checks them', () => {
  it('plugs nothing on a halted VM, needs PV drivers on a running HVM guest, ejects only CDs', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm, vbd, cd } = await vmWithDisk(sim, x)
    expect(await code(x.call('VBD.plug', vbd))).toEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted'])
    expect(await code(x.call('VBD.eject', vbd))).toEqual(['VBD_NOT_REMOVABLE_MEDIA', vbd])
    expect(await code(x.call('VBD.eject', cd))).toEqual(['VBD_IS_EMPTY', cd])
    expect(await x.call('VBD.get_allowed_operations', vbd)).toEqual(['attach'])
    await x.callAsync('VM.start', vm, false, false)
    // Attached at start: the device name xenopsd gives it.
    expect(await x.call('VBD.get_device', vbd)).toBe('xvdb')
    expect(await code(x.call('VBD.plug', vbd))).toEqual(['DEVICE_ALREADY_ATTACHED', vbd])
    // No guest agent has reported: an HVM guest without PV drivers cannot hot-unplug.
    expect(await code(x.call('VBD.unplug', vbd))).toEqual(['VM_MISSING_PV_DRIVERS', vm])
    expect(await code(x.call('VBD.plug', cd))).toEqual(['DEVICE_ALREADY_ATTACHED', cd])
    expect(await code(x.call('VBD.unplug', cd))).toEqual(['VM_MISSING_PV_DRIVERS', vm])
  })

  it('suspends into a suspend VDI and resumes from it; reboots give a new domain; pause and unpause', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm } = await vmWithDisk(sim, x)
    const ops = (): Promise<string[]> => x.call<string[]>('VM.get_allowed_operations', vm)
    expect(await ops()).toContain('start')
    expect(await ops()).not.toContain('suspend')
    expect(await code(x.call('VM.suspend', vm))).toEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted'])
    await x.callAsync('VM.start', vm, false, false)
    expect(await ops()).toEqual(expect.arrayContaining(['hard_shutdown', 'hard_reboot', 'pause']))
    // An HVM guest without PV drivers advertises no suspend support: strict check_op_for_feature.
    expect(await ops()).not.toContain('suspend')
    expect(await ops()).not.toContain('clean_shutdown')
    reportGuest({ store: sim.state.store, sim: sim.state, session: '', method: 'test' }, vm, [], { name: 'FreeBSD', uname: '14', distro: 'freebsd', major: '14', minor: '3' })
    expect(await ops()).toEqual(expect.arrayContaining(['suspend', 'clean_shutdown', 'clean_reboot', 'pool_migrate']))
    expect(await x.call<string[]>('VM.get_consoles', vm)).toHaveLength(1)
    const domid = Number(await x.call('VM.get_domid', vm))
    await x.call('VM.hard_reboot', vm)
    expect(Number(await x.call('VM.get_domid', vm))).toBe(domid + 1)
    await x.call('VM.suspend', vm)
    const image = await x.call<string>('VM.get_suspend_VDI', vm)
    expect(await x.call('VDI.get_type', image)).toBe('suspend')
    expect(await x.call('VM.get_power_state', vm)).toBe('Suspended')
    expect(await x.call<string[]>('VM.get_consoles', vm)).toEqual([])
    expect(await ops()).toEqual(expect.arrayContaining(['resume', 'hard_shutdown', 'destroy']))
    await x.call('VM.resume', vm, false, false)
    expect(await code(x.call('VDI.get_record', image))).toEqual(['HANDLE_INVALID', 'VDI', image])
    await x.call('VM.pause', vm)
    expect(await code(x.call('VM.pause', vm))).toEqual(['VM_BAD_POWER_STATE', vm, 'running', 'paused'])
    await x.call('VM.unpause', vm)
    expect(await x.call('VM.get_power_state', vm)).toBe('Running')
  })

  it('resizes only a detached disk and never shrinks it; copies a VM with its disks', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const { vm, vdi } = await vmWithDisk(sim, x)
    expect(await code(x.call('VDI.resize', vdi, 4 << 20))).toEqual(['SR_BACKEND_FAILURE_79', '', 'VDI Invalid size [opterr=shrinking not allowed]', ''])
    expect(await code(x.call('VDI.resize_online', vdi, 16 << 20))).toEqual(['SR_OPERATION_NOT_SUPPORTED', sim.inventory.localSr])
    await x.call('VDI.resize', vdi, (16 << 20) + 1)
    expect(Number(await x.call('VDI.get_virtual_size', vdi))).toBe(18 << 20)
    const copy = await x.call<string>('VM.copy', vm, 'c', 'OpaqueRef:NULL')
    const copied = await Promise.all((await x.call<string[]>('VM.get_VBDs', copy)).map((b) => x.call<string>('VBD.get_VDI', b)))
    expect(copied).not.toContain(vdi)
    expect(copied).toContain('OpaqueRef:NULL') // the CD drive stays empty
    expect(await x.call('VM.get_allowed_VBD_devices', copy)).not.toContain('1')
    await x.callAsync('VM.start', vm, false, false)
    expect(await code(x.call('VDI.resize', vdi, 32 << 20))).toEqual(['VDI_IN_USE', vdi, 'resize'])
    expect(await code(x.call('VM.copy', vm, 'd', 'OpaqueRef:NULL'))).toEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running'])
  })

  it('fills what xapi always fills: control domain, metrics, PIFs on hosts and networks, roles', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const host = sim.inventory.host
    const dom0 = await x.call<string>('host.get_control_domain', host)
    expect(await x.call('VM.get_is_control_domain', dom0)).toBe(true)
    expect(Number(await x.call('host_metrics.get_memory_total', await x.call('host.get_metrics', host)))).toBeGreaterThan(0)
    const pifs = await x.call<string[]>('host.get_PIFs', host)
    expect(pifs).toHaveLength(1)
    expect(await x.call('network.get_PIFs', sim.inventory.network)).toEqual(pifs)
    expect(await x.call('PIF.get_management', pifs[0])).toBe(true)
    expect(await x.call<string[]>('host.get_host_CPUs', host)).toHaveLength(8)
    expect(Object.keys(await x.call<Record<string, unknown>>('role.get_all_records'))).toHaveLength(6)
    expect(await x.call<string[]>('role.get_by_name_label', 'pool-admin')).toHaveLength(1)
    // Only externally authenticated sessions have a subject: root's local session has none.
    expect(await rawCall(sim.url, 'session.get_all_subject_identifiers', await login(sim.url))).toEqual({ Status: 'Success', Value: [] })
  })
})
