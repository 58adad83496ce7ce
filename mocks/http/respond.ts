import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Wire } from '../codec/wire.js'
import { WireFormatError } from '../codec/wire.js'
import { asFault, type Dispatcher } from '../dispatch.js'
import { readBody, BodyTimeoutError, BodyTooLargeError, type HttpLimits } from './body.js'
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
 * HTML page, not an API error, and a body over its limit the same way (uncaught
 * Client_requested_size_over_limit); a body that does not arrive in time gets 408, as
 * xapi's header timeout does. undefined means that answer has been sent.
 */
export async function readCall<T>(req: IncomingMessage, res: ServerResponse, decode: (body: string) => T, limits: HttpLimits): Promise<T | undefined> {
  try {
    return decode((await readBody(req, limits)).toString('utf8'))
  } catch (e) {
    if (e instanceof BodyTooLargeError || e instanceof BodyTimeoutError) {
      // The rest of the body is not read: the connection goes once the answer is out.
      res.shouldKeepAlive = false
      htmlError(res, e instanceof BodyTimeoutError ? 408 : 500, e.message)
      res.once('finish', () => req.socket.destroy())
      return undefined
    }
    if (!(e instanceof WireFormatError)) throw e
    htmlError(res, 500, e.message)
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
