import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import { XapiFault } from '../fault.js'
import { createTask, completeTask, failTask, setProgress } from '../classes/task.js'
import { ChunkDecoder } from '../../src/image/chunk-framing.js'
import { authorised, httpParams } from './auth.js'
import { redirectFor } from './sr-locality.js'

/** Where the upload's bytes come from: the request, or a fault layer's view of it. */
export interface BodySource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'end', listener: () => void): unknown
}

const IO_ERROR = new XapiFault('VDI_IO_ERROR', ['Device I/O errors'])

function httpError(res: ServerResponse, status: number, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html', connection: 'close', ...extra })
  res.end(`<html><body><h1>HTTP ${status}</h1></body></html>`)
}

function lookupVdi(sim: SimState, id: string): string | undefined {
  if (sim.store.classOf(id) === 'VDI') return id
  return sim.store.find('VDI', (r) => r.uuid === id)[0]?.[0]
}

/**
 * PUT /import_raw_vdi as xapi's import_raw_vdi.ml does it: the 200 and task-id header go
 * out before the body is read, success or failure is reported only through the task,
 * and the connection closes afterwards. The bytes come from `body`, which is the request
 * itself unless the fault layer stands in between (upload-faults.ts).
 */
export function handleImportRawVdi(req: IncomingMessage, res: ServerResponse, sim: SimState, body: BodySource = req): void {
  const params = httpParams(req)
  const suppliedTask = params.get('task_id')
  const task = suppliedTask && sim.store.classOf(suppliedTask) === 'task' ? suppliedTask : undefined
  const fail = (status: number, err: XapiFault, headers: Record<string, string> = {}): void => {
    if (task) failTask(sim.store, task, err)
    httpError(res, status, headers)
    req.resume()
  }
  if (!authorised(req, params, sim)) {
    return fail(401, new XapiFault('SESSION_AUTHENTICATION_FAILED'), { 'www-authenticate': 'Basic realm="put_import_raw_vdi"' })
  }
  if (req.headers['transfer-encoding']) {
    return fail(404, new XapiFault('INTERNAL_ERROR', [`Cannot handle encoding: ${req.headers['transfer-encoding']}`]))
  }
  const format = (params.get('format') ?? 'raw').toLowerCase()
  const chunked = params.has('chunked')
  if (format !== 'raw') {
    // vhd/qcow2 conversion is not simulated; answered as xapi answers formats it does not know.
    return fail(404, new XapiFault('INTERNAL_ERROR', [chunked && format === 'vhd' ? 'Cannot handle chunked VHD' : `Unknown format ${format}`]))
  }
  const vdiId = params.get('vdi')
  if (!vdiId) return fail(400, new XapiFault('VDI_MISSING'))
  const vdi = lookupVdi(sim, vdiId)
  if (!vdi) {
    // An unknown vdi is an uncaught DB exception in xapi: HTTP 500, task left alone.
    httpError(res, 500)
    req.resume()
    return
  }
  const location = redirectFor(req, sim, vdi)
  if (location) {
    // A supplied task stays pending: the client sends the same task_id to the Location.
    res.writeHead(302, { location, connection: 'close', 'content-length': 0 })
    res.end()
    req.resume()
    return
  }
  const lengthHeader = req.headers['content-length']
  if (lengthHeader === undefined) return fail(411, new XapiFault('INTERNAL_ERROR', ['Content-Length required']))
  const contentLength = Number(lengthHeader)
  const disk = sim.disks.get(vdi)!
  const taskRef = task ?? createTask(sim.store, `VDI import`, '', sim.host)
  // Without a task_id xapi runs the import in a task of its own and destroys it afterwards.
  const ownTask = !task
  res.writeHead(200, {
    connection: 'close',
    'cache-control': 'no-cache, no-store',
    'task-id': taskRef,
    'content-type': 'application/octet-stream',
  })
  res.flushHeaders()

  const decoder = chunked ? new ChunkDecoder() : undefined
  let received = 0
  let rawOffset = 0
  let lastProgress = 0
  let failed = false
  const abort = (err: XapiFault): void => {
    if (failed) return
    failed = true
    failTask(sim.store, taskRef, err)
    if (ownTask && sim.store.has(taskRef)) sim.store.destroy('task', taskRef)
    // xapi cuts the connection on a write error after the 200 has gone out.
    req.destroy()
    res.destroy()
  }
  const write = (offset: number, data: Buffer): boolean => {
    if (offset + data.length > disk.size) {
      abort(IO_ERROR)
      return false
    }
    disk.write(offset, data)
    return true
  }
  body.on('data', (chunk: Buffer) => {
    if (failed) return
    received += chunk.length
    try {
      if (decoder) {
        for (const piece of decoder.push(chunk)) if (!write(piece.offset, piece.data)) return
      } else {
        if (!write(rawOffset, chunk)) return
        rawOffset += chunk.length
      }
    } catch {
      return abort(IO_ERROR)
    }
    const progress = contentLength > 0 ? received / contentLength : 1
    if (progress - lastProgress >= 0.05) {
      lastProgress = progress
      setProgress(sim.store, taskRef, Math.min(progress, 0.99))
    }
  })
  body.on('end', () => {
    if (failed) return
    if (decoder?.truncated && received > 0) return abort(IO_ERROR)
    sim.store.update('VDI', vdi, { physical_utilisation: disk.allocated })
    completeTask(sim.store, taskRef, `<value>${vdi}</value>`)
    if (ownTask && sim.store.has(taskRef)) sim.store.destroy('task', taskRef)
    res.end()
  })
  req.on('aborted', () => abort(IO_ERROR))
  req.on('close', () => {
    if (!req.complete) abort(IO_ERROR)
  })
}
