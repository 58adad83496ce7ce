import { describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { withSimulator, connectTo, simAuthorization } from '../support/simulator.js'
import { login, rawCall } from '../support/rpc.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import type { XapiError } from '../../src/xapi/errors.js'

const codeOf = (p: Promise<unknown>): Promise<string[]> =>
  p.then(
    () => [],
    (e: XapiError) => [e.code, ...e.params],
  )

async function admin(sim: Simulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const headers = { authorization: simAuthorization(sim), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
  const res = await fetch(new URL(path, sim.url), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  return { status: res.status, json: await res.json() }
}

/** PUT raw bytes; resolves with the status (0 if the connection was cut before a response). */
function put(sim: Simulator, x: XapiConnection, query: Record<string, string>, body: Buffer): Promise<number> {
  const url = new URL(`/import_raw_vdi?${new URLSearchParams({ session_id: x.sessionId, ...query })}`, sim.url)
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.end(body)
  })
}

async function newVdi(sim: Simulator, x: XapiConnection, size = 4 << 20): Promise<string> {
  return x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {} })
}

describe('fault injection through sim.faults', () => {
  it('fails exactly the Nth call of a method with the chosen error', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    sim.faults.add({ method: 'VM.get_name_label', error: ['INTERNAL_ERROR', 'injected'], nth: 2 })
    const t = sim.inventory.template
    expect(await codeOf(x.call('VM.get_name_label', t))).toEqual([])
    expect(await codeOf(x.call('VM.get_name_label', t))).toEqual(['INTERNAL_ERROR', 'injected'])
    expect(await codeOf(x.call('VM.get_name_label', t))).toEqual([])
  })

  it('adds latency to every matching call', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    sim.faults.add({ method: '*', delayMs: 150, times: 0 })
    const t0 = Date.now()
    await x.call('VM.get_all')
    await x.call('SR.get_all')
    // Two delays of 150 ms, less a millisecond each that a timer can seem early by when
    // measured with Date.now() (libuv starts it from the loop's cached, truncated time).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(298)
  })

  it('holds a call in flight until the test releases it, then lets it and later calls through', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'held')
    await x.call('VM.provision', vm)
    const hold = sim.faults.hold('VM.start')
    let done = false
    const start = x.callAsync('VM.start', vm, false, false).then(() => (done = true))
    await hold.reached
    // Held after the operation is recorded: the VM shows it in flight, as during a slow start.
    expect(Object.values(sim.objects().VM![vm]!.current_operations as Record<string, string>)).toEqual(['start'])
    expect([hold.held, done]).toEqual([1, false])
    hold.release()
    await start
    expect(sim.objects().VM![vm]!.power_state).toBe('Running')
    // Released means disarmed: the next matching call is not held.
    await x.callAsync('VM.clean_shutdown', vm)
    await x.callAsync('VM.start', vm, false, false)
    expect(hold.held).toBe(0)
  })

  it('lets a held call go by itself after maxMs, and on clear()', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const timed = sim.faults.hold('VM.get_all', { maxMs: 50 })
    const t0 = Date.now()
    await x.call('VM.get_all')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45)
    await timed.reached
    const cleared = sim.faults.hold('SR.get_all')
    const call = x.call<string[]>('SR.get_all')
    await cleared.reached
    sim.faults.clear()
    expect(await call).toEqual([sim.inventory.localSr])
  })

  it('cuts an upload after N bytes: the task fails with VDI_IO_ERROR and only those bytes land', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vdi = await newVdi(sim, x)
    sim.faults.add({ upload: 'cut', afterBytes: 100_000 })
    const data = Buffer.alloc(1 << 20, 0x5a)
    const task = await x.call<string>('task.create', 'upload', '')
    await put(sim, x, { task_id: task, vdi }, data)
    expect(await codeOf(x.watchTask(task))).toEqual(['VDI_IO_ERROR', 'Device I/O errors'])
    expect(sim.readVdi(vdi, 0, 100_000)).toEqual(data.subarray(0, 100_000))
    expect(sim.readVdi(vdi, 100_000, 1)).toEqual(Buffer.alloc(1))
  })

  it('answers an upload with HTTP 500 and fails its task', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vdi = await newVdi(sim, x)
    sim.faults.add({ upload: 'http500' })
    const task = await x.call<string>('task.create', 'upload', '')
    expect(await put(sim, x, { task_id: task, vdi }, Buffer.alloc(1000, 1))).toBe(500)
    expect(await codeOf(x.watchTask(task))).toEqual(['INTERNAL_ERROR', 'simulated HTTP 500 on upload'])
    // One-shot: the next upload goes through.
    expect(await put(sim, x, { vdi }, Buffer.alloc(1000, 1))).toBe(200)
  })

  it('expires sessions: raw calls get SESSION_INVALID, the xen-api client logs in again', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const x = await connectTo(sim)
    sim.faults.expireSessions()
    expect((await rawCall(sim.url, 'VM.get_all', s)).ErrorDescription).toEqual(['SESSION_INVALID', s])
    expect((await x.call<string[]>('VM.get_all')).length).toBe(Object.keys(sim.objects().VM ?? {}).length)
    expect(sim.calls().filter((m) => m === 'session.login_with_password')).toHaveLength(3)
  })

  it('fills an SR: the next VDI.create is SR_BACKEND_FAILURE_44', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    await newVdi(sim, x)
    sim.faults.fillSr('Local storage', 2 << 20)
    await newVdi(sim, x, 2 << 20)
    expect(await codeOf(newVdi(sim, x, 2 << 20))).toEqual(['SR_BACKEND_FAILURE_44', '', 'There is insufficient space', ''])
  })
})

describe('the /_sim/ control endpoint', () => {
  it('arms, lists and clears rules; applies actions; refuses what is not a rule', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const armed = await admin(sim, 'POST', '/_sim/faults', [
      { method: 'SR.get_all', error: ['SR_BACKEND_FAILURE_1', '', 'boom', ''], times: 0 },
      { method: 'VM.get_all', delayMs: 10 },
    ])
    expect(armed.status).toBe(200)
    expect((await rawCall(sim.url, 'SR.get_all', s)).ErrorDescription).toEqual(['SR_BACKEND_FAILURE_1', '', 'boom', ''])
    expect((await admin(sim, 'GET', '/_sim/faults')).json).toEqual([
      { method: 'SR.get_all', error: ['SR_BACKEND_FAILURE_1', '', 'boom', ''], times: 0, seen: 1, fired: 1 },
      { method: 'VM.get_all', delayMs: 10, seen: 0, fired: 0 },
    ])
    expect((await admin(sim, 'DELETE', '/_sim/faults')).status).toBe(200)
    expect((await rawCall(sim.url, 'SR.get_all', s)).Status).toBe('Success')

    // A hold from a script: the call waits (GET shows it held) until DELETE lets it go.
    expect((await admin(sim, 'POST', '/_sim/faults', { method: 'VM.get_all', hold: true })).status).toBe(200)
    const held = rawCall(sim.url, 'VM.get_all', s)
    let listed: unknown
    for (let i = 0; i < 100 && ((listed = (await admin(sim, 'GET', '/_sim/faults')).json), JSON.stringify(listed).includes('"held":0')); i++) await new Promise((r) => setTimeout(r, 5))
    expect(listed).toEqual([{ method: 'VM.get_all', hold: true, seen: 1, fired: 1, held: 1 }])
    expect((await admin(sim, 'DELETE', '/_sim/faults')).status).toBe(200)
    expect((await held).Status).toBe('Success')

    const bad = await admin(sim, 'POST', '/_sim/faults', { method: 'VM.start', error: [] })
    expect(bad.status).toBe(400)
    expect(await admin(sim, 'POST', '/_sim/faults', { action: 'sr-full', sr: 'no such SR' })).toEqual({ status: 400, json: { error: 'no SR match "no such SR"' } })

    expect((await admin(sim, 'POST', '/_sim/faults', { action: 'expire-sessions' })).status).toBe(200)
    expect((await rawCall(sim.url, 'VM.get_all', s)).ErrorDescription).toEqual(['SESSION_INVALID', s])
  })

  it('returns every object as JSON, and the call log', async () => {
    const sim = await withSimulator()
    await login(sim.url)
    const objects = (await admin(sim, 'GET', '/_sim/objects')).json as Record<string, Record<string, { name_label?: string }>>
    expect(objects.VM?.[sim.inventory.template]?.name_label).toBe('Other install media')
    expect(Object.keys(objects.SR ?? {})).toEqual([sim.inventory.localSr])
    expect((await admin(sim, 'GET', '/_sim/calls')).json).toEqual([{ method: 'session.login_with_password', transport: 'xml-rpc' }])
  })
})
