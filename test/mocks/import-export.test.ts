import { describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { createHash } from 'node:crypto'
import { withSimulator, connectTo } from '../support/simulator.js'
import { encodeChunkHeader, CHUNK_TERMINATOR } from '../../src/xapi/chunk-framing.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'

interface PutResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  error?: string
}

function put(url: URL, body: Buffer, headers: Record<string, string> = {}): Promise<PutResult> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, headers: res.headers, error: e.message }))
    })
    req.on('error', (e) => resolve({ status: 0, headers: {}, error: e.message }))
    req.end(body)
  })
}

async function setup(size = 8 << 20): Promise<{ sim: Simulator; x: XapiConnection; vdi: string }> {
  const sim = await withSimulator()
  const x = await connectTo(sim)
  const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: size, type: 'system', sharable: false, read_only: false, other_config: {} })
  return { sim, x, vdi }
}

function importUrl(sim: Simulator, q: Record<string, string>): URL {
  const u = new URL('/import_raw_vdi', sim.url)
  u.search = new URLSearchParams(q).toString()
  return u
}

describe('PUT /import_raw_vdi and GET /export_raw_vdi', () => {
  it('imports chunked-framed data, reports the VDI ref through the task, and exports it back', async () => {
    const { sim, x, vdi } = await setup()
    const a = Buffer.alloc(4096, 0xab)
    const b = Buffer.alloc(100, 0xcd)
    const body = Buffer.concat([encodeChunkHeader(0, a.length), a, encodeChunkHeader(5 << 20, b.length), b, CHUNK_TERMINATOR])
    const task = await x.call<string>('task.create', 'import', '')
    const res = await put(importUrl(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'raw', chunked: 'true' }), body)
    expect(res.status).toBe(200)
    expect(res.headers['task-id']).toBe(task)
    expect(await x.watchTask(task)).toBe(vdi)
    expect(sim.readVdi(vdi, 0, 4096)).toEqual(a)
    expect(sim.readVdi(vdi, 5 << 20, 100)).toEqual(b)
    // Sparse storage: a few KiB of data hold two 64 KiB blocks, not 8 MiB.
    expect(sim.state.disks.get(vdi)!.allocated).toBe(2 * 64 * 1024)
    const exported = await fetch(`${sim.url}export_raw_vdi?session_id=${x.sessionId}&vdi=${vdi}&format=raw`)
    const bytes = Buffer.from(await exported.arrayBuffer())
    expect(bytes.length).toBe(8 << 20)
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(sim.readVdi(vdi)).digest('hex'))
  })

  it('imports a plain raw body from offset 0', async () => {
    const { sim, x, vdi } = await setup()
    const data = Buffer.alloc(70000, 1)
    const task = await x.call<string>('task.create', 'import', '')
    await put(importUrl(sim, { session_id: x.sessionId, task_id: task, vdi }), data)
    expect(await x.watchTask(task)).toBe(vdi)
    expect(sim.readVdi(vdi, 0, data.length)).toEqual(data)
  })

  it('answers 401 without a session or Basic credentials, and accepts Basic', async () => {
    const { sim, vdi } = await setup()
    const denied = await put(importUrl(sim, { vdi }), Buffer.alloc(10, 1))
    expect(denied.status).toBe(401)
    expect(denied.headers['www-authenticate']).toBe('Basic realm="put_import_raw_vdi"')
    const basic = Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')
    const ok = await put(importUrl(sim, { vdi }), Buffer.alloc(10, 1), { authorization: `Basic ${basic}` })
    expect(ok.status).toBe(200)
    expect(ok.headers['task-id']).toMatch(/^OpaqueRef:/)
  })

  it('refuses Transfer-Encoding with 404 and fails the task', async () => {
    const { sim, x, vdi } = await setup()
    const task = await x.call<string>('task.create', 'import', '')
    const res = await new Promise<number>((resolve) => {
      const req = request(importUrl(sim, { session_id: x.sessionId, task_id: task, vdi }), { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume()
        resolve(r.statusCode ?? 0)
      })
      req.end(Buffer.alloc(10, 1))
    })
    expect(res).toBe(404)
    const err = await x.watchTask(task).catch((e: { code: string; params: string[] }) => [e.code, ...e.params])
    expect(err).toEqual(['INTERNAL_ERROR', 'Cannot handle encoding: chunked'])
  })

  it('fails the task with VDI_IO_ERROR for data beyond virtual_size', async () => {
    const { sim, x, vdi } = await setup(2 << 20)
    const task = await x.call<string>('task.create', 'import', '')
    const body = Buffer.concat([encodeChunkHeader(2 << 20, 16), Buffer.alloc(16, 1), CHUNK_TERMINATOR])
    await put(importUrl(sim, { session_id: x.sessionId, task_id: task, vdi, chunked: '' }), body)
    const err = await x.watchTask(task).catch((e: { code: string; params: string[] }) => [e.code, ...e.params])
    expect(err).toEqual(['VDI_IO_ERROR', 'Device I/O errors'])
  })

  it('answers 400 with VDI_MISSING when no vdi is named', async () => {
    const { sim, x } = await setup()
    const task = await x.call<string>('task.create', 'import', '')
    expect((await put(importUrl(sim, { session_id: x.sessionId, task_id: task }), Buffer.alloc(1))).status).toBe(400)
    const err = await x.watchTask(task).catch((e: { code: string }) => e.code)
    expect(err).toBe('VDI_MISSING')
  })
})
