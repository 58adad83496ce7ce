import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodeCall, encodeResponse } from '../codec/xmlrpc.js'
import { str, struct, arr, WireFormatError } from '../codec/wire.js'
import type { Dispatcher } from '../dispatch.js'
import { asFault } from '../dispatch.js'
import { readBody, BodyTooLargeError } from './body.js'

/** The XML-RPC endpoint: POST /, /RPC2 and the xen-api client's ./xmlrpc. */
export async function handleXmlRpc(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher): Promise<void> {
  let call
  try {
    call = decodeCall((await readBody(req)).toString('utf8'))
  } catch (e) {
    // XAPI answers unparsable bodies with HTTP 500 and an HTML page, not an API error.
    if (e instanceof WireFormatError || e instanceof BodyTooLargeError) {
      res.writeHead(e instanceof BodyTooLargeError ? 413 : 500, { 'content-type': 'text/html' })
      res.end(`<html><body><h1>HTTP ${e instanceof BodyTooLargeError ? 413 : 500}</h1>${escape(e.message)}</body></html>`)
      return
    }
    throw e
  }
  let payload
  try {
    const value = await dispatcher.call(call.method, call.params)
    payload = struct([
      ['Status', str('Success')],
      ['Value', value],
    ])
  } catch (e) {
    const f = asFault(e)
    payload = struct([
      ['Status', str('Failure')],
      ['ErrorDescription', arr(f.description.map(str))],
    ])
  }
  const body = encodeResponse(payload)
  // Exactly text/xml: the xen-api client rejects any charset suffix.
  res.writeHead(200, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
  })
  res.end(body)
}

const escape = (s: string): string => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)
