import { describe, expect, it } from 'vitest'
import { withSimulator, connectTo } from '../support/simulator.js'
import { login, post, rawCall } from '../support/rpc.js'
import { datamodel } from '../../mocks/datamodel/model.js'

/** Details of XAPI's wire format that clients other than xen-api notice; each checked against xapi's source. */
interface EventBatch {
  events: { id: string; class: string; operation: string; ref: string }[]
  valid_ref_counts: Record<string, number>
  token: string
}

describe('system.listMethods over XML-RPC (api_server.ml)', () => {
  it('answers with the bare array, no Status/Value struct around it', async () => {
    const sim = await withSimulator()
    const res = await post(sim.url, '/', '<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params/></methodCall>')
    expect(res.body).toMatch(/^<\?xml version="1.0"\?><methodResponse><params><param><value><array><data>/)
    expect(res.body).not.toContain('Status')
    const listed = (await rawCall(sim.url, 'system.listMethods')) as unknown as string[]
    expect(listed).toContain('VM.get_all_records')
  })
})

describe('event.from (xapi_event.ml)', () => {
  const from = (url: string, s: string, classes: string[], token: string): Promise<EventBatch> => rawCall(url, 'event.from', s, classes, token, 0.05).then((r) => r.Value as EventBatch)

  it('never reports sessions (gen_events:false), even to "*"', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const start = await from(sim.url, s, ['*'], '')
    const other = await login(sim.url)
    await rawCall(sim.url, 'session.logout', other)
    const batch = await from(sim.url, s, ['*', 'session'], start.token)
    expect(batch.events.filter((e) => e.class === 'session')).toEqual([])
  })

  it('sends no deletion for an object created after the token, and one for an object that existed', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const s = x.sessionId
    const vdi = (name: string): Promise<string> =>
      x.call<string>('VDI.create', { name_label: name, SR: sim.inventory.localSr, virtual_size: 1 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
    const old = await vdi('old')
    const { token } = await from(sim.url, s, ['vdi'], '')
    const brief = await vdi('brief')
    await x.call('VDI.destroy', brief)
    await x.call('VDI.destroy', old)
    const batch = await from(sim.url, s, ['vdi'], token)
    expect(batch.events.filter((e) => e.ref === brief)).toEqual([])
    expect(batch.events.filter((e) => e.ref === old).map((e) => e.operation)).toEqual(['del'])
  })

  it('counts every table of the database in valid_ref_counts, whatever the subscription', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const batch = await from(sim.url, s, ['task'], '')
    const notInDb = ['auth', 'event', 'message', 'data_source', 'sr_stat', 'probe_result', 'vdi_nbd_server_info']
    const tables = Object.keys(datamodel.catalogue)
      .filter((c) => !notInDb.includes(c))
      .map((c) => c.toLowerCase())
    expect(Object.keys(batch.valid_ref_counts).sort()).toEqual(tables.sort())
    expect(Number(batch.valid_ref_counts.session)).toBe(1)
    expect(Number(batch.valid_ref_counts.sr)).toBe(1)
    expect(Number(batch.valid_ref_counts.vusb)).toBe(0)
  })
})
