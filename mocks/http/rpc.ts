import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodeCall, encodeResponse } from '../codec/xmlrpc.js'
import { str, struct, arr } from '../codec/wire.js'
import type { Dispatcher } from '../dispatch.js'
import type { HttpLimits } from './body.js'
import { dispatchOutcome, readCall, send } from './respond.js'

/** The XML-RPC endpoint: POST /, /RPC2 and the xen-api client's ./xmlrpc. */
export async function handleXmlRpc(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, limits: HttpLimits): Promise<void> {
  const call = await readCall(req, res, decodeCall, limits)
  if (!call) return
  const out = await dispatchOutcome(dispatcher, 'xml-rpc', call)
  // api_server.ml answers system.listMethods with the bare array, no Status/Value struct
  // around it: what Python's xmlrpc.client and other introspecting clients expect.
  if (call.method === 'system.listMethods' && out.ok) return send(res, 'text/xml', encodeResponse(out.value))
  // API errors are a Failure struct with HTTP 200, never an XML-RPC <fault>.
  const payload = out.ok
    ? struct([
        ['Status', str('Success')],
        ['Value', out.value],
      ])
    : struct([
        ['Status', str('Failure')],
        ['ErrorDescription', arr(out.description.map(str))],
      ])
  // Exactly text/xml: the xen-api client rejects any charset suffix.
  send(res, 'text/xml', encodeResponse(payload))
}
