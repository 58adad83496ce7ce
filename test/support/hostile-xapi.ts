import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeCall, encodeResponse } from '../../mocks/codec/xmlrpc.js'
import { arr, str, struct, wireToPlain } from '../../mocks/codec/wire.js'

/**
 * An HTTP front for a simulator that behaves like a hostile (or careless) XAPI: it
 * passes every request through, except that it answers the chosen call with a fault,
 * an error page or headers quoting the secrets it has seen: the password of the login
 * and the session id that login returned. Whatever it puts there must never reach the
 * user's terminal, logs or --json.
 */
export interface HostileXapi {
  url: string
  /** Session ids the simulator handed out through this front. */
  sessions(): string[]
  close(): Promise<void>
}

export type Hostility =
  /** The login fails with a fault whose parameters quote the password. */
  | { on: 'session.login_with_password'; answer: 'fault' }
  /** This call fails with a fault quoting the session id and the password. */
  | { on: string; answer: 'fault' }
  /** This call gets an HTTP 500 whose headers and body quote them. */
  | { on: string; answer: 'http-500' }

export async function hostileXapi(simUrl: string, h: Hostility): Promise<HostileXapi> {
  const target = new URL(simUrl)
  let password = ''
  const sessions: string[] = []
  const leak = (): string => `password=${password} session=${sessions.at(-1) ?? ''}`

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer, onBody?: (b: Buffer) => void): void => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      if (!onBody) {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
        return
      }
      const chunks: Buffer[] = []
      r.on('data', (c: Buffer) => chunks.push(c))
      r.on('end', () => {
        const b = Buffer.concat(chunks)
        onBody(b)
        res.writeHead(r.statusCode ?? 502, r.headers)
        res.end(b)
      })
    })
    up.on('error', () => res.destroy())
    if (body) up.end(body)
    else req.pipe(up)
  }

  const server = createServer((req, res) => {
    if (req.method !== 'POST') return forward(req, res)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const call = decodeCall(body.toString('utf8'))
      const params = call.params.map(wireToPlain)
      if (call.method === 'session.login_with_password') password = String(params[1])
      if (call.method === h.on) {
        if (h.answer === 'http-500') {
          res.writeHead(500, { 'content-type': 'text/plain', 'x-debug': leak(), 'www-authenticate': `Basic realm="${leak()}"` })
          return res.end(`internal error: ${leak()}`)
        }
        const fault = struct([
          ['Status', str('Failure')],
          ['ErrorDescription', arr([str(call.method === 'session.login_with_password' ? 'SESSION_AUTHENTICATION_FAILED' : 'INTERNAL_ERROR'), str(String(params[0])), str(leak())])],
        ])
        res.writeHead(200, { 'content-type': 'text/xml', 'x-debug': leak() })
        return res.end(encodeResponse(fault))
      }
      forward(req, res, body, (b) => {
        if (call.method !== 'session.login_with_password') return
        const m = /<value>(?:<string>)?(OpaqueRef:[^<]+)/.exec(b.toString('utf8'))
        if (m) sessions.push(m[1]!)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    sessions: () => [...sessions],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
