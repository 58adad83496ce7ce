import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Wire } from '../codec/wire.js'
import { WireFormatError } from '../codec/wire.js'
import { asFault, type Dispatcher } from '../dispatch.js'
import { readBody, BodyTooLargeError } from './body.js'
import type { RpcCall } from '../codec/xmlrpc.js'
import type { Transport } from '../state.js'

export type Outcome = { ok: true; value: Wire } | { ok: false; description: string[] }

/** One call through the dispatcher, whichever transport carried it: both share sessions. */
export async function dispatchOutcome(dispatcher: Dispatcher, transport: Transport, { method, params }: RpcCall): Promise<Outcome> {
  try {
    return { ok: true, value: await dispatcher.call(method, params, transport) }
  } catch (e) {
    return { ok: false, description: asFault(e).description }
  }
}

export function htmlError(res: ServerResponse, status: number, detail = ''): void {
  const escaped = detail.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)
  res.writeHead(status, { 'content-type': 'text/html' })
  res.end(`<html><body><h1>HTTP ${status}</h1>${escaped}</body></html>`)
}

/**
 * Reads and decodes an RPC body. XAPI answers an unparsable body with HTTP 500 and an
 * HTML page, not an API error; undefined means that answer has been sent.
 */
export async function readCall<T>(req: IncomingMessage, res: ServerResponse, decode: (body: string) => T): Promise<T | undefined> {
  try {
    return decode((await readBody(req)).toString('utf8'))
  } catch (e) {
    if (!(e instanceof WireFormatError || e instanceof BodyTooLargeError)) throw e
    htmlError(res, e instanceof BodyTooLargeError ? 413 : 500, e.message)
    return undefined
  }
}

export function send(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
  })
  res.end(body)
}
