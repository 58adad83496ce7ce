import { request } from 'node:http'
import { decodeCall, encodeCall } from '../../mocks/codec/xmlrpc.js'
import { wireToPlain, type Wire } from '../../mocks/codec/wire.js'
import { parseXml, type XmlElement } from '../../mocks/codec/xml.js'

/** Plain JS -> wire, for hand-made calls in tests (numbers become XAPI-style int strings). */
export function w(v: unknown): Wire {
  if (typeof v === 'string') return { t: 'str', v }
  if (typeof v === 'number') return Number.isInteger(v) ? { t: 'int', v: String(v) } : { t: 'double', v }
  if (typeof v === 'boolean') return { t: 'bool', v }
  if (Array.isArray(v)) return { t: 'arr', v: v.map(w) }
  if (v && typeof v === 'object') return { t: 'struct', v: Object.entries(v).map(([k, x]) => [k, w(x)]) }
  return { t: 'nil' }
}

export interface RawResponse {
  status: number
  contentType: string | undefined
  body: string
}

export function post(url: string, path: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: 'POST', headers: { 'content-type': 'text/xml', ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** One XML-RPC call with exactly the parameters given (no session added), decoded to plain JS. */
export async function rawCall(url: string, method: string, ...params: unknown[]): Promise<{ Status: string; Value?: unknown; ErrorDescription?: string[] }> {
  return wireToPlain(await wireCall(url, method, ...params)) as { Status: string; Value?: unknown; ErrorDescription?: string[] }
}

/**
 * The same call, with the response kept as wire values: an untyped <value> decodes as
 * 'str', so a test can tell an int64 sent as digits from <int>, <double> or <boolean>.
 */
export async function wireCall(url: string, method: string, ...params: unknown[]): Promise<Wire> {
  const res = await post(url, '/', encodeCall({ method, params: params.map(w) }))
  // Reuse the request decoder by re-wrapping the response's single value.
  const doc = parseXml(res.body)
  const value = find(doc, 'value')
  const wrapped = `<methodCall><methodName>r</methodName><params><param>${serialize(value)}</param></params></methodCall>`
  return decodeCall(wrapped).params[0]!
}

function find(el: XmlElement, name: string): XmlElement {
  if (el.name === name) return el
  for (const c of el.children) {
    const hit = findOpt(c, name)
    if (hit) return hit
  }
  throw new Error(`no <${name}>`)
}
function findOpt(el: XmlElement, name: string): XmlElement | undefined {
  if (el.name === name) return el
  for (const c of el.children) {
    const hit = findOpt(c, name)
    if (hit) return hit
  }
  return undefined
}
function serialize(el: XmlElement): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  return `<${el.name}>${el.children.length ? el.children.map(serialize).join('') : esc(el.text)}</${el.name}>`
}

export async function login(url: string, user = 'root', password = 'simulator'): Promise<string> {
  const r = await rawCall(url, 'session.login_with_password', user, password)
  if (r.Status !== 'Success') throw new Error(`login failed: ${JSON.stringify(r.ErrorDescription)}`)
  return r.Value as string
}
