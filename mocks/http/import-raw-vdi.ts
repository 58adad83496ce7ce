import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import { XapiFault } from '../fault.js'
import { createTask, completeTask, failTask, setProgress } from '../classes/task.js'
import { ChunkDecoder } from '../../src/xapi/chunk-framing.js'
import { authorised, httpParams } from './auth.js'
import { redirectFor } from './sr-locality.js'
import { ContainerImport, knownFormats, type ImportFormat } from './import-formats.js'
import { DiskMap } from '../sparse-disk.js'
import { tmpdir } from 'node:os'

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
  // import_raw_vdi.ml's order: the VDI (or SR) first, the redirect, then the format, chunked, Transfer-Encoding.
  const vdiId = params.get('vdi')
  const srGiven = params.has('sr_id') || params.has('sr_uuid')
  if (!vdiId && !srGiven) return fail(400, new XapiFault('VDI_MISSING'))
  const vdi = vdiId ? lookupVdi(sim, vdiId) : undefined
  if (vdiId && !vdi) {
    // An unknown vdi is an uncaught DB exception in xapi: HTTP 500, task left alone.
    httpError(res, 500)
    req.resume()
    return
  }
  const location = vdi && redirectFor(req, sim, vdi)
  if (location) {
    // A supplied task stays pending: the client sends the same task_id to the Location.
    res.writeHead(302, { location, connection: 'close', 'content-length': 0 })
    res.end()
    req.resume()
    return
  }
  const known = knownFormats(sim.profile)
  // Before xapi knew format= (XCP 1.1's 1.3) the parameter was ignored: the body is written raw.
  const format = known ? (params.get('format') ?? 'raw').toLowerCase() : 'raw'
  const chunked = params.has('chunked')
  if (known && (!known.includes(format as ImportFormat) || format === 'tar')) {
    // tar (xapi's own 1 MiB-chunk export) is not simulated; answered as a format xapi does not know.
    return fail(404, new XapiFault('INTERNAL_ERROR', [`Unknown format ${params.get('format')}`]))
  }
  if (format !== 'raw' && chunked) return fail(404, new XapiFault('INTERNAL_ERROR', ['Cannot handle chunked VHD']))
  if (req.headers['transfer-encoding']) {
    return fail(404, new XapiFault('INTERNAL_ERROR', [`Cannot handle encoding: ${req.headers['transfer-encoding']}`]))
  }
  if (!vdi) {
    // With sr_id and no vdi xapi creates a VDI for raw (not simulated) and refuses the others.
    if (format === 'vhd') return fail(400, new XapiFault('INTERNAL_ERROR', ['Importing a VHD directly into an SR not yet supported']))
    if (format === 'qcow2') return fail(400, new XapiFault('INTERNAL_ERROR', ['Importing a QCOW2 directly into an SR not yet supported']))
    return fail(400, new XapiFault('VDI_MISSING'))
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
  const container = format === 'vhd' || format === 'qcow2' ? new ContainerImport(format, sim.disks instanceof DiskMap ? sim.disks.dir : tmpdir()) : undefined
  let received = 0
  let rawOffset = 0
  let lastProgress = 0
  let failed = false
  const abort = (err: XapiFault): void => {
    if (failed) return
    failed = true
    container?.discard()
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
      if (container) {
        container.push(chunk)
      } else if (decoder) {
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
    const refused = container?.finish(disk)
    if (refused) return abort(refused)
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
