import type { IncomingMessage } from 'node:http'
import type { SimState } from '../state.js'

/** Query parameters, with cookies taking precedence as in Xapi_http.lookup_param_of_req. */
export function httpParams(req: IncomingMessage): URLSearchParams {
  const url = new URL(req.url ?? '/', 'http://sim')
  const params = new URLSearchParams(url.search)
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) params.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()))
  }
  return params
}

/**
 * Xapi_http.assert_credentials_ok: a valid session_id, or Basic credentials (XAPI logs
 * in a throw-away session for those). Returns false when neither is acceptable.
 */
export function authorised(req: IncomingMessage, params: URLSearchParams, sim: SimState): boolean {
  const session = params.get('session_id')
  if (session && sim.store.classOf(session) === 'session') return true
  const auth = req.headers.authorization
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return decoded.slice(0, colon) === sim.credentials.user && decoded.slice(colon + 1) === sim.credentials.password
  }
  return false
}
