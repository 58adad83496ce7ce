import type { IncomingMessage } from 'node:http'
import type { SimState } from '../state.js'

/**
 * The path and query of a request target, or undefined when it is no URL at all
 * ("//[", "http://[zz/"): such a request gets 400, never an exception.
 */
export function requestTarget(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://sim')
  } catch {
    return undefined
  }
}

/** A cookie value's %-escapes decoded; a malformed escape leaves the value as sent. */
function cookieValue(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** Query parameters, with cookies taking precedence as in Xapi_http.lookup_param_of_req. */
export function httpParams(req: IncomingMessage): URLSearchParams {
  const params = new URLSearchParams(requestTarget(req)?.search ?? '')
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) params.set(part.slice(0, eq).trim(), cookieValue(part.slice(eq + 1).trim()))
  }
  return params
}

/** HTTP Basic credentials equal to the simulator's (the XAPI login's user and password). */
export function basicAuthOk(req: IncomingMessage, sim: SimState): boolean {
  const auth = req.headers.authorization
  if (!auth?.startsWith('Basic ')) return false
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon > 0 && decoded.slice(0, colon) === sim.credentials.user && decoded.slice(colon + 1) === sim.credentials.password
}

/**
 * Xapi_http.assert_credentials_ok: a valid session_id, or Basic credentials (XAPI logs
 * in a throw-away session for those). Returns false when neither is acceptable.
 */
export function authorised(req: IncomingMessage, params: URLSearchParams, sim: SimState): boolean {
  const session = params.get('session_id')
  if (session && sim.store.classOf(session) === 'session') return true
  return basicAuthOk(req, sim)
}
