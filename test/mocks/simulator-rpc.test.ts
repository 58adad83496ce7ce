import { describe, expect, it } from 'vitest'
import { withSimulator, connectTo } from '../support/simulator.js'
import { login, post, rawCall } from '../support/rpc.js'
import { datamodel } from '../../mocks/datamodel/model.js'
import { XapiError } from '../../src/xapi/errors.js'

describe('simulator over XML-RPC', () => {
  it('logs the real xen-api client in and answers with exactly text/xml', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    expect(x.sessionId).toMatch(/^OpaqueRef:/)
    const res = await post(sim.url, '/RPC2', '<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params /></methodCall>')
    expect(res.status).toBe(200)
    expect(res.contentType).toBe('text/xml')
    expect(res.body).not.toMatch(/>\s+</)
  })

  it('refuses a wrong password with SESSION_AUTHENTICATION_FAILED [user, message]', async () => {
    const sim = await withSimulator()
    const r = await rawCall(sim.url, 'session.login_with_password', 'root', 'wrong')
    expect(r).toEqual({ Status: 'Failure', ErrorDescription: ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure'] })
  })

  it('serves every record with exactly the datamodel fields of its class', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    for (const cls of ['pool', 'host', 'SR', 'PBD', 'network', 'VM']) {
      const r = await rawCall(sim.url, `${cls}.get_all_records`, s)
      expect(r.Status).toBe('Success')
      const records = Object.values(r.Value as Record<string, Record<string, unknown>>)
      expect(records.length).toBeGreaterThan(0)
      const expected = datamodel.classes[cls]!.fields.map((f) => f.name).sort()
      for (const rec of records) expect(Object.keys(rec).sort()).toEqual(expected)
    }
  })

  it('carries the real "Other install media" template record', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const [ref] = await x.call<string[]>('VM.get_by_name_label', 'Other install media')
    const t = await x.call<Record<string, unknown>>('VM.get_record', ref)
    expect(t).toMatchObject({
      uuid: '552bce37-51b2-445d-84f2-5f33fa112d7e',
      is_a_template: true,
      is_default_template: true,
      memory_static_min: '134217728',
      memory_static_max: '268435456',
      HVM_boot_policy: 'BIOS order',
      HVM_boot_params: { firmware: 'bios', order: 'cd' },
      domain_type: 'hvm',
      reference_label: 'other-install-media',
    })
    expect((t.other_config as Record<string, string>)['install-methods']).toBe('cdrom')
  })

  it('checks parameter count before the session, and the session before the method', async () => {
    const sim = await withSimulator()
    expect((await rawCall(sim.url, 'VM.get_record', 'OpaqueRef:bogus')).ErrorDescription).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_record', '1', '0'])
    expect((await rawCall(sim.url, 'VM.get_record', 'OpaqueRef:bogus', 'OpaqueRef:x')).ErrorDescription).toEqual(['SESSION_INVALID', 'OpaqueRef:bogus'])
    expect((await rawCall(sim.url, 'VM.no_such_thing', 'OpaqueRef:bogus')).ErrorDescription).toEqual(['SESSION_INVALID', 'OpaqueRef:bogus'])
    const s = await login(sim.url)
    expect((await rawCall(sim.url, 'VM.no_such_thing', s)).ErrorDescription).toEqual(['MESSAGE_METHOD_UNKNOWN', 'VM.no_such_thing'])
    expect((await rawCall(sim.url, 'VM.get_record', s, 'OpaqueRef:nope')).ErrorDescription).toEqual(['HANDLE_INVALID', 'VM', 'OpaqueRef:nope'])
    expect((await rawCall(sim.url, 'VM.get_by_uuid', s, 'nope')).ErrorDescription).toEqual(['UUID_INVALID', 'VM', 'nope'])
  })

  it('answers malformed XML with HTTP 500, as XAPI does', async () => {
    const sim = await withSimulator()
    const res = await post(sim.url, '/', '<methodCall><methodName>x')
    expect(res.status).toBe(500)
  })

  it('raises MAP_DUPLICATE_KEY [table, field, ref, key] even for an identical value', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'dup')
    await x.call('VM.add_to_other_config', vm, 'k', 'v')
    const err = await x.call('VM.add_to_other_config', vm, 'k', 'v').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(XapiError)
    expect([(err as XapiError).code, ...(err as XapiError).params]).toEqual(['MAP_DUPLICATE_KEY', 'VM', 'other_config', vm, 'k'])
    await x.call('VM.remove_from_other_config', vm, 'absent')
  })

  it('clones a template the way VM.clone does and provisions it into a VM', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'web-01')
    let rec = await x.call<Record<string, unknown>>('VM.get_record', vm)
    expect(rec.is_a_template).toBe(true)
    expect(rec.is_default_template).toBe(false)
    const oc = rec.other_config as Record<string, string>
    expect(oc.base_template_name).toBe('Other install media')
    expect(oc.mac_seed).toMatch(/^[0-9a-f-]{36}$/)
    const err = await x.callAsync('VM.start', vm, false, false).catch((e: unknown) => e)
    expect([(err as XapiError).code, ...(err as XapiError).params]).toEqual(['VM_IS_TEMPLATE', vm, 'start'])
    await x.callAsync('VM.provision', vm)
    rec = await x.call<Record<string, unknown>>('VM.get_record', vm)
    expect(rec.is_a_template).toBe(false)
    const again = await x.callAsync('VM.provision', vm).catch((e: unknown) => e)
    expect((again as XapiError).code).toBe('ONLY_PROVISION_TEMPLATE')
  })

  it('enforces XAPI memory and VCPU ordering rules', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'm')
    const bad = await x.call('VM.set_memory_limits', vm, 256 << 20, 128 << 20, 256 << 20, 256 << 20).catch((e: unknown) => e)
    expect((bad as XapiError).code).toBe('MEMORY_CONSTRAINT_VIOLATION_ORDER')
    const v = await x.call('VM.set_VCPUs_at_startup', vm, 2).catch((e: unknown) => e)
    expect([(v as XapiError).code, ...(v as XapiError).params]).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs_at_startup \u2264 VCPUs_max', '2'])
    await x.call('VM.set_VCPUs_max', vm, 2)
    await x.call('VM.set_VCPUs_at_startup', vm, 2)
  })

  it('validates VIF MAC and device, and VBD device aliases', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'n')
    const vif = { VM: vm, network: sim.inventory.network, device: '0', MAC: '00:16:3e:00:00:01', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }
    const codes = async (p: Promise<unknown>): Promise<string[]> =>
      p.then(
        () => [],
        (e: XapiError) => [e.code, ...e.params],
      )
    expect(await codes(x.call('VIF.create', { ...vif, MAC: '00:16:3e:00:00' }))).toEqual(['MAC_INVALID', '00:16:3e:00:00'])
    expect(await codes(x.call('VIF.create', { ...vif, device: 'eth0' }))).toEqual(['INVALID_DEVICE', 'eth0'])
    await x.call('VIF.create', vif)
    expect(await codes(x.call('VIF.create', { ...vif, MAC: '00:16:3e:00:00:02' }))).toEqual(['DEVICE_ALREADY_EXISTS', '0'])
    const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: 1 << 20, type: 'system', sharable: false, read_only: false, other_config: {} })
    const vbd = { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }
    await x.call('VBD.create', vbd)
    expect(await codes(x.call('VBD.create', { ...vbd, userdevice: 'xvda' }))).toEqual(['DEVICE_ALREADY_EXISTS', 'xvda'])
    expect(await codes(x.call('VBD.create', { ...vbd, userdevice: 'banana' }))).toEqual(['INVALID_DEVICE', 'banana'])
  })

  it('rounds VDI sizes to 2 MiB and fails an over-full SR with SR_BACKEND_FAILURE_44', async () => {
    const sim = await withSimulator({ localSrSize: 100 << 20 })
    const x = await connectTo(sim)
    const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: (3 << 20) | 1, type: 'user', sharable: false, read_only: false, other_config: {} })
    expect(await x.call('VDI.get_virtual_size', vdi)).toBe(String(4 << 20))
    const err = await x
      .call('VDI.create', { name_label: 'big', SR: sim.inventory.localSr, virtual_size: 200 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
      .catch((e: XapiError) => e)
    expect([(err as XapiError).code, ...(err as XapiError).params]).toEqual(['SR_BACKEND_FAILURE_44', '', 'There is insufficient space', ''])
  })

  it('lists only datamodel methods in system.listMethods', async () => {
    const sim = await withSimulator()
    const methods = (await rawCall(sim.url, 'system.listMethods')) as unknown as string[]
    expect(methods).toContain('Async.VM.start')
    expect(methods).toContain('task.get_all_records')
    for (const m of methods) {
      if (m === 'system.listMethods') continue
      const [cls, name] = m.replace(/^Async\./, '').split('.') as [string, string]
      expect(
        datamodel.classes[cls]?.messages.some((x) => x.name === name),
        m,
      ).toBe(true)
    }
  })
})
