import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import { XapiFault } from '../fault.js'
import { failTask } from '../classes/task.js'
import { handleImportRawVdi, type BodySource } from './import-raw-vdi.js'
import { httpParams } from './auth.js'
import { htmlError } from './respond.js'

/**
 * PUT /import_raw_vdi behind the upload fault rules. The import handler itself knows
 * nothing of faults: a "cut" rule hands it a view of the body that stops after N bytes
 * and then drops the connection (the handler sees a short read, as with a real network
 * failure); an "http500" rule answers before the handler runs.
 */
export function handleImportWithFaults(req: IncomingMessage, res: ServerResponse, sim: SimState): void {
  // An empty PUT carries nothing to cut: it is a client's redirect probe (xen-api's putResource
  // sends one before every stream), and letting it use up a rule would shift the rules onto the wrong upload.
  if (req.headers['content-length'] === '0') return handleImportRawVdi(req, res, sim)
  const f = sim.faults.nextUpload()
  if (!f) return handleImportRawVdi(req, res, sim)
  if (f.kind === 'http500') {
    // The client gets a 500; a task it supplied fails too, so a caller waiting on it is not left hanging.
    const task = httpParams(req).get('task_id')
    if (task && sim.store.classOf(task) === 'task') failTask(sim.store, task, new XapiFault('INTERNAL_ERROR', ['simulated HTTP 500 on upload']))
    htmlError(res, 500, 'simulated failure')
    req.resume()
    return
  }
  handleImportRawVdi(req, res, sim, cutAfter(req, f.afterBytes))
}

/** Passes the first `limit` bytes on synchronously, then destroys the connection. */
function cutAfter(req: IncomingMessage, limit: number): BodySource {
  const out = new EventEmitter()
  let seen = 0
  req.on('data', (chunk: Buffer) => {
    const room = limit - seen
    seen += chunk.length
    if (room > 0) out.emit('data', room >= chunk.length ? chunk : chunk.subarray(0, room))
    if (seen >= limit) req.destroy()
  })
  req.on('end', () => out.emit('end'))
  return out
}
