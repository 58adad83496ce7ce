import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Xapi } from 'xen-api'
import { parseJson, formatJson } from '../../mocks/codec/json.js'
import { decodeJsonCall, encodeJsonCall } from '../../mocks/codec/jsonrpc.js'
import { WireFormatError, type Wire } from '../../mocks/codec/wire.js'
import { withSimulator } from '../support/simulator.js'
import { login, post, w } from '../support/rpc.js'
import { until } from '../support/until.js'
import type { Simulator } from '../../mocks/simulator.js'

const clients: Xapi[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => undefined)))
})

async function jsonCall(url: string, body: string): Promise<{ status: number; contentType: string | undefined; json: unknown }> {
  const res = await post(url, '/jsonrpc', body, { 'content-type': 'application/json' })
  return { status: res.status, contentType: res.contentType, json: res.status === 200 ? JSON.parse(res.body) : res.body }
}

describe('JSON codec', () => {
  it('keeps int64 literals exact, where JSON.parse would round them', () => {
    const v = parseJson('{"virtual_size":12345678901234567890,"f":60.1,"b":false,"n":null,"s":"a\\"\\u00e9","a":[]}')
    expect(v).toEqual({
      t: 'struct',
      v: [
        ['virtual_size', { t: 'int', v: '12345678901234567890' }],
        ['f', { t: 'double', v: 60.1 }],
        ['b', { t: 'bool', v: false }],
        ['n', { t: 'nil' }],
        ['s', { t: 'str', v: 'a"é' }],
        ['a', { t: 'arr', v: [] }],
      ],
    })
  })

  it('round-trips every wire kind it can carry', () => {
    const values: Wire[] = [
      { t: 'str', v: 'x <y> "z"' },
      { t: 'int', v: '10737418240' },
      { t: 'double', v: 0.5 },
      { t: 'bool', v: true },
      { t: 'nil' },
      { t: 'arr', v: [{ t: 'int', v: '-3' }] },
      { t: 'struct', v: [['k', { t: 'str', v: 'v' }]] },
    ]
    for (const v of values) expect(parseJson(formatJson(v))).toEqual(v)
    // Types JSON has no word for go out as XAPI sends them: i4 as a number, dates as strings.
    expect(formatJson({ t: 'i4', v: 7 })).toBe('7')
    expect(formatJson({ t: 'date', v: '20250319T04:16:24Z' })).toBe('"20250319T04:16:24Z"')
  })

  it('refuses malformed JSON and requests without an id', () => {
    for (const bad of ['{', '{"a":1,}', '[1 2]', '{"a":tru}', '"open', '1 2']) expect(() => parseJson(bad), bad).toThrow(WireFormatError)
    expect(() => decodeJsonCall('{"jsonrpc":"2.0","method":"m","params":[]}')).toThrow(/id is required/)
    expect(() => decodeJsonCall('{"method":"m","params":{},"id":1}')).toThrow(/params must be an array/)
    expect(decodeJsonCall(encodeJsonCall({ method: 'm', params: [w('a')] }, 1, 'x'))).toEqual({ method: 'm', params: [w('a')], id: w('x'), version: 1 })
  })
})

describe('POST /jsonrpc', () => {
  it('answers v2 and v1 with their own success and error shapes, as application/json', async () => {
    const sim = await withSimulator()
    const ok2 = await jsonCall(sim.url, '{"jsonrpc":"2.0","method":"session.login_with_password","params":["root","simulator"],"id":"a"}')
    expect(ok2.status).toBe(200)
    expect(ok2.contentType).toBe('application/json')
    expect(ok2.json).toEqual({ jsonrpc: '2.0', result: expect.stringMatching(/^OpaqueRef:/), id: 'a' })
    const bad2 = await jsonCall(sim.url, '{"jsonrpc":"2.0","method":"session.login_with_password","params":["root","no"],"id":2}')
    expect(bad2.json).toEqual({ jsonrpc: '2.0', error: { code: 1, message: 'SESSION_AUTHENTICATION_FAILED', data: ['root', 'Authentication failure'] }, id: 2 })
    const ok1 = await jsonCall(sim.url, '{"method":"system.listMethods","params":[],"id":3}')
    expect(ok1.json).toMatchObject({ error: null, id: 3 })
    expect((ok1.json as { result: string[] }).result).toContain('VM.get_all_records')
    const bad1 = await jsonCall(sim.url, '{"method":"VM.get_all","params":["OpaqueRef:nope"],"id":4}')
    expect(bad1.json).toEqual({ result: null, error: ['SESSION_INVALID', 'OpaqueRef:nope'], id: 4 })
  })

  it('writes ints as JSON numbers and floats and bools as such', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const r = await jsonCall(sim.url, JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_record', params: [s, sim.inventory.template], id: 1 }))
    const rec = (r.json as { result: Record<string, unknown> }).result
    expect(rec.memory_static_max).toBe(268435456)
    expect(rec.HVM_shadow_multiplier).toBe(1)
    expect(rec.is_a_template).toBe(true)
    expect(rec.snapshot_time).toBe('19700101T00:00:00Z')
  })

  it('shares sessions with XML-RPC', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url) // over XML-RPC
    const r = await jsonCall(sim.url, JSON.stringify({ jsonrpc: '2.0', method: 'SR.get_by_name_label', params: [s, 'Local storage'], id: 9 }))
    expect(r.json).toEqual({ jsonrpc: '2.0', result: [sim.inventory.localSr], id: 9 })
  })

  it("serves event.from with valid_ref_counts as numbers, as the client's event loop expects", async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const r = await jsonCall(sim.url, JSON.stringify({ jsonrpc: '2.0', method: 'event.from', params: [s, ['task', 'VM'], '', 0.1], id: 1 }))
    const res = (r.json as { result: { token: string; valid_ref_counts: Record<string, unknown>; events: { class: string; id: unknown }[] } }).result
    // Every table of the database is counted, subscribed to or not (xapi_event.ml).
    expect(res.valid_ref_counts).toMatchObject({ task: 0, vm: expect.any(Number), session: 1, vdi: 0 })
    // Int64.to_string: the event id is a JSON string.
    for (const e of res.events) expect(e.id).toEqual(expect.stringMatching(/^\d+$/))
    expect(res.token).toMatch(/^\d{20},\d{20}$/)
    expect(new Set(res.events.map((e) => e.class))).toEqual(new Set(['vm']))
  })

  it('answers malformed JSON and a missing id with HTTP 500', async () => {
    const sim = await withSimulator()
    expect((await jsonCall(sim.url, '{"method":')).status).toBe(500)
    expect((await jsonCall(sim.url, '{"jsonrpc":"2.0","method":"system.listMethods","params":[]}')).status).toBe(500)
  })
})

/** How many tasks the client's event watcher holds (xen-api's object cache, which types/xen-api.d.ts leaves out). */
const cachedTasks = (client: Xapi): number => Object.values((client as unknown as { objects: { all: Record<string, { $type: string }> } }).objects.all).filter((o) => o.$type === 'task').length

/**
 * Waits until the client's event watcher has caught up with the host, before the test
 * disconnects it. A task created and destroyed between two event.from polls is never
 * reported (xapi_event.ml collect_events; the simulator does the same), so the watcher
 * can still hold a task the host no longer has; its next poll finds valid_ref_counts.task
 * disagreeing and it fetches the tasks again. Disconnected before that, the fetch runs
 * without a session and xen-api prints "_refreshCachedRecords task AssertionError". An
 * injected event ends the pending poll at once; the watcher has caught up when it holds
 * the host's tasks, none. Past that point, each poll agrees with the count.
 */
async function watcherCaughtUp(client: Xapi, sim: Simulator): Promise<void> {
  await until("the clones' tasks destroyed on the host", () => Object.keys(sim.objects().task ?? {}).length === 0)
  await client.call('event.inject', 'pool', sim.inventory.pool)
  await until("the client's event watcher to drop the destroyed tasks", () => cachedTasks(client) === 0)
}

describe('the xen-api client over each transport', () => {
  for (const transport of ['xml-rpc', 'json-rpc', 'auto'] as const) {
    it(`logs in, looks up, and awaits Async.VM.clone through its event loop (${transport})`, async () => {
      const sim = await withSimulator()
      const client = createClient({ url: sim.url, auth: { user: 'root', password: 'simulator' }, transport, debounce: 0 })
      clients.push(client)
      await client.connect()
      expect(await client.call('SR.get_by_name_label', 'Local storage')).toEqual([sim.inventory.localSr])
      const vm = (await client.callAsync('VM.clone', sim.inventory.template, 'web-01')) as string
      expect(vm).toMatch(/^OpaqueRef:/)
      expect(await client.call('VM.get_name_label', vm)).toBe('web-01')
      // The first task may settle before the client's initial fetch; the second is
      // certainly learnt from event.from.
      const vm2 = (await client.callAsync('VM.clone', vm, 'web-02')) as string
      expect(await client.call('VM.get_name_label', vm2)).toBe('web-02')
      const used = new Set(sim.callLog().map((c) => c.transport))
      expect([...used]).toEqual([transport === 'xml-rpc' ? 'xml-rpc' : 'json-rpc'])
      // The client's own event loop ran over this transport: event.from, then task.destroy on settling.
      expect(sim.calls()).toEqual(expect.arrayContaining(['event.inject', 'event.from', 'Async.VM.clone', 'task.destroy']))
      await watcherCaughtUp(client, sim)
    })
  }
})
