import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import type { Dispatcher } from '../dispatch.js'
import { handleXmlRpc } from './rpc.js'
import { handleJsonRpc } from './jsonrpc.js'
import { handleImportWithFaults } from './upload-faults.js'
import { handleExportRawVdi } from './export-raw-vdi.js'
import { handleAdmin } from './admin.js'
import { htmlError } from './respond.js'
import { requestTarget } from './auth.js'
import { cutWhenIdle, DEFAULT_HTTP_LIMITS, type HttpLimits } from './body.js'

/** XAPI's HTTP surface on one listener: RPC on both transports, raw VDI transfer, and /_sim/. */
export function createRequestHandler(state: SimState, dispatcher: Dispatcher, limits: HttpLimits = DEFAULT_HTTP_LIMITS): RequestListener & { inflight(): number } {
  let inflight = 0
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    inflight++
    res.once('close', () => inflight--)
    const failed = (err: unknown): void => {
      if (res.headersSent) return void res.destroy()
      htmlError(res, 500, err instanceof Error ? err.message : String(err))
      req.resume()
    }
    // A handler that throws answers 500; it never takes the process down with it.
    try {
      serve(req, res, (p) => void Promise.resolve(p).catch(failed))
    } catch (err) {
      failed(err)
    }
  }

  function serve(req: IncomingMessage, res: ServerResponse, done: (p: Promise<unknown> | void) => void): void {
    const target = requestTarget(req)
    if (!target) {
      res.shouldKeepAlive = false
      htmlError(res, 400, 'The HTTP request was malformed.')
      return void req.resume()
    }
    const path = target.pathname.replace(/\/+$/, '') || '/'
    const route = `${req.method} ${path}`
    switch (route) {
      case 'POST /':
      case 'POST /RPC2':
      case 'POST /xmlrpc':
      case 'POST /json': // xapi's legacy path: the body is XML-RPC despite the name
        return done(handleXmlRpc(req, res, dispatcher, limits))
      case 'POST /jsonrpc':
        return done(handleJsonRpc(req, res, dispatcher, limits))
      case 'OPTIONS /':
      case 'OPTIONS /RPC2':
      case 'OPTIONS /jsonrpc':
        // xapi answers CORS preflights on its RPC paths so browser clients can call it.
        res.writeHead(200, {
          'access-control-allow-origin': '*',
          'access-control-allow-headers': 'content-type',
          'access-control-allow-methods': 'POST, OPTIONS',
          'content-length': 0,
        })
        return void res.end()
      case 'PUT /import_raw_vdi':
      case 'GET /export_raw_vdi': {
        const entry = { method: req.method ?? '', path, host: state.host, status: 0 }
        state.transferLog.push(entry)
        // Known once the exchange is over; 0 if no status line went out at all.
        res.once('close', () => (entry.status = res.headersSent ? res.statusCode : 0))
        // Large and slow is fine for an upload; silent for a minute is not.
        if (req.method === 'PUT') cutWhenIdle(req, limits.uploadIdleMs)
        return done(route === 'PUT /import_raw_vdi' ? handleImportWithFaults(req, res, state) : handleExportRawVdi(req, res, state))
      }
    }
    if (path.startsWith('/_sim/')) {
      return done(
        handleAdmin(req, res, state, route, limits).then((handled) => {
          if (!handled) htmlError(res, 404)
        }),
      )
    }
    htmlError(res, 404)
    req.resume()
  }
  return Object.assign(handler, { inflight: () => inflight })
}
