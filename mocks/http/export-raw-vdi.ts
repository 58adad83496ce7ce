import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import { XapiFault } from '../fault.js'
import { createTask, completeTask, failTask } from '../classes/task.js'
import { BLOCK } from '../sparse-disk.js'
import { authorised, httpParams } from './auth.js'
import { redirectFor } from './sr-locality.js'

const ZEROS = Buffer.alloc(16 * BLOCK)

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** GET /export_raw_vdi: the whole virtual disk, holes as zeros, then the task completes. */
export async function handleExportRawVdi(req: IncomingMessage, res: ServerResponse, sim: SimState): Promise<void> {
  const params = httpParams(req)
  const supplied = params.get('task_id')
  const task = supplied && sim.store.classOf(supplied) === 'task' ? supplied : undefined
  if (!authorised(req, params, sim)) {
    if (task) failTask(sim.store, task, new XapiFault('SESSION_AUTHENTICATION_FAILED'))
    res.writeHead(401, { 'www-authenticate': 'Basic realm="VDI.export"', 'content-type': 'text/html' })
    res.end('<html><body><h1>HTTP 401</h1></body></html>')
    return
  }
  const id = params.get('vdi') ?? ''
  const vdi = sim.store.classOf(id) === 'VDI' ? id : sim.store.find('VDI', (r) => r.uuid === id)[0]?.[0]
  const disk = vdi && sim.disks.get(vdi)
  if (!vdi || !disk) {
    if (task) failTask(sim.store, task, new XapiFault('VDI_MISSING'))
    res.writeHead(404, { 'content-type': 'text/html' })
    res.end('<html><body><h1>HTTP 404</h1></body></html>')
    return
  }
  const location = redirectFor(req, sim, vdi)
  if (location) {
    res.writeHead(302, { location, connection: 'close', 'content-length': 0 })
    res.end()
    return
  }
  const taskRef = task ?? createTask(sim.store, 'VDI export', '', sim.host)
  // Without a task_id xapi runs the export in a task of its own and destroys it afterwards.
  const finish = (end: () => void): void => {
    end()
    if (!task && sim.store.has(taskRef)) sim.store.destroy('task', taskRef)
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(disk.size),
    'task-id': taskRef,
    connection: 'close',
  })
  const span = 16 * BLOCK
  const data = new Set(disk.dataBlocks().map((b) => Math.floor((b * BLOCK) / span)))
  for (let offset = 0; offset < disk.size; offset += span) {
    if (res.destroyed) return finish(() => failTask(sim.store, taskRef, new XapiFault('VDI_IO_ERROR', ['Device I/O errors'])))
    const n = Math.min(span, disk.size - offset)
    // Holes go out from one shared zero buffer: exporting a mostly empty 20 GiB disk stays cheap.
    const ok = res.write(data.has(offset / span) ? disk.read(offset, n) : ZEROS.subarray(0, n))
    if (!ok) await drained(res)
  }
  res.end()
  finish(() => completeTask(sim.store, taskRef, '<value></value>'))
}
