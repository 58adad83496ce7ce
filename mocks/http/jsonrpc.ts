import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodeJsonCall, encodeJsonError, encodeJsonResult } from '../codec/jsonrpc.js'
import type { Dispatcher } from '../dispatch.js'
import type { HttpLimits } from './body.js'
import { dispatchOutcome, readCall, send } from './respond.js'

/** POST /jsonrpc, v1 and v2, through the same dispatcher (and so the same sessions) as XML-RPC. */
export async function handleJsonRpc(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, limits: HttpLimits): Promise<void> {
  const call = await readCall(req, res, decodeJsonCall, limits)
  if (!call) return
  const out = await dispatchOutcome(dispatcher, 'json-rpc', call)
  // Exactly application/json: the xen-api client treats anything else as "no JSON-RPC here".
  send(res, 'application/json', out.ok ? encodeJsonResult(call, out.value) : encodeJsonError(call, out.description))
}
