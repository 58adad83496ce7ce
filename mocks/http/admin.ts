import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import { FaultActionSchema, FaultRequestSchema } from '../fault-rules.js'
import { readBody, type HttpLimits } from './body.js'
import { basicAuthOk } from './auth.js'

/**
 * The control API under /_sim/, for CI scripts that run the simulator as a process:
 *   GET    /_sim/objects  every object, by class then ref, as JSON
 *   GET    /_sim/calls    every RPC received, in order, with its transport
 *   GET    /_sim/consoles what the HVM firmware did at each VM.start, by VM ref (classes/vm-boot.ts)
 *   GET    /_sim/faults   the armed fault rules and their counters
 *   POST   /_sim/faults   arm a rule or apply an action (JSON; a list is accepted)
 *   DELETE /_sim/faults   disarm every rule
 * Not part of XAPI: a real host answers 404 here. Every request needs HTTP Basic with the
 * simulator's own credentials (root/simulator unless set otherwise): the faults can fail
 * or hold any call, so they are not for whoever reaches the port. A session id is no key,
 * and sessions are never shown: /_sim/objects leaves out the session class.
 */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, sim: SimState, route: string, limits: HttpLimits): Promise<boolean> {
  if (!basicAuthOk(req, sim)) {
    req.resume()
    res.writeHead(401, { 'www-authenticate': 'Basic realm="xapi simulator control"', 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: "the control API needs HTTP Basic credentials: the simulator's XAPI user and password" }))
    return true
  }
  switch (route) {
    case 'GET /_sim/objects': {
      const { session: _sessions, ...objects } = sim.store.snapshot()
      return json(res, 200, objects)
    }
    case 'GET /_sim/calls':
      return json(
        res,
        200,
        sim.callLog.map(({ method, transport }) => ({ method, transport })),
      )
    case 'GET /_sim/consoles':
      return json(res, 200, Object.fromEntries(sim.consoles))
    case 'GET /_sim/faults':
      return json(res, 200, sim.faults.list())
    case 'DELETE /_sim/faults':
      sim.faults.clear()
      return json(res, 200, { ok: true })
    case 'POST /_sim/faults':
      return postFaults(req, res, sim, limits)
    default:
      return false
  }
}

async function postFaults(req: IncomingMessage, res: ServerResponse, sim: SimState, limits: HttpLimits): Promise<boolean> {
  let input: unknown
  try {
    input = JSON.parse((await readBody(req, limits)).toString('utf8'))
  } catch (e) {
    return json(res, 400, { error: `body is not JSON: ${(e as Error).message}` })
  }
  const parsed = FaultRequestSchema.safeParse(input)
  if (!parsed.success) return json(res, 400, { error: 'not a fault rule or action', issues: parsed.error.issues })
  try {
    for (const item of Array.isArray(parsed.data) ? parsed.data : [parsed.data]) {
      const action = FaultActionSchema.safeParse(item)
      if (action.success) sim.faults.apply(action.data)
      else if (!('action' in item)) sim.faults.add(item)
    }
  } catch (e) {
    // An action naming no object (or several): the caller's mistake, not the simulator's.
    return json(res, 400, { error: (e as Error).message })
  }
  return json(res, 200, { ok: true, faults: sim.faults.list() })
}

function json(res: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
  return true
}
