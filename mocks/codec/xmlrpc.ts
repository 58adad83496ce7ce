import { escapeXml, parseXml, type XmlElement } from './xml.js'
import { type Wire, WireFormatError } from './wire.js'

export interface RpcCall {
  method: string
  params: Wire[]
}

function only(el: XmlElement, name: string): XmlElement {
  const c = el.children.find((x) => x.name === name)
  if (!c) throw new WireFormatError(`<${el.name}> lacks <${name}>`)
  return c
}

function decodeValue(el: XmlElement): Wire {
  const [typed] = el.children
  if (!typed) return { t: 'str', v: el.text }
  switch (typed.name) {
    case 'string':
      return { t: 'str', v: typed.text }
    case 'int':
    case 'i4':
    case 'i8':
      if (!/^\s*[-+]?\d+\s*$/.test(typed.text)) throw new WireFormatError(`bad <${typed.name}> ${typed.text}`)
      return { t: 'int', v: typed.text.trim() }
    case 'double': {
      const n = Number(typed.text)
      if (Number.isNaN(n)) throw new WireFormatError(`bad <double> ${typed.text}`)
      return { t: 'double', v: n }
    }
    case 'boolean':
      // rpclib reads only "1" as true: <boolean>true</boolean> is false on a real XAPI.
      return { t: 'bool', v: typed.text.trim() === '1' }
    case 'dateTime.iso8601':
      return { t: 'date', v: typed.text }
    case 'base64':
      return { t: 'base64', v: Buffer.from(typed.text, 'base64') }
    case 'nil':
      return { t: 'nil' }
    case 'array':
      return {
        t: 'arr',
        v: only(typed, 'data')
          .children.filter((c) => c.name === 'value')
          .map(decodeValue),
      }
    case 'struct':
      return {
        t: 'struct',
        v: typed.children.filter((m) => m.name === 'member').map((m) => [only(m, 'name').text, decodeValue(only(m, 'value'))] as [string, Wire]),
      }
    default:
      throw new WireFormatError(`unknown XML-RPC type <${typed.name}>`)
  }
}

export function decodeCall(body: string): RpcCall {
  const doc = parseXml(body)
  if (doc.name !== 'methodCall') throw new WireFormatError(`expected <methodCall>, got <${doc.name}>`)
  const method = only(doc, 'methodName').text.trim()
  const params = doc.children.find((c) => c.name === 'params')
  return {
    method,
    params: (params?.children ?? []).filter((p) => p.name === 'param').map((p) => decodeValue(only(p, 'value'))),
  }
}

export function encodeValue(w: Wire): string {
  switch (w.t) {
    case 'str':
    case 'int':
      // XAPI writes int64 untyped, as a string of digits.
      return `<value>${escapeXml(w.v)}</value>`
    case 'i4':
      return `<value><i4>${w.v}</i4></value>`
    case 'double':
      return `<value><double>${formatDouble(w.v)}</double></value>`
    case 'bool':
      return `<value><boolean>${w.v ? 1 : 0}</boolean></value>`
    case 'date':
      return `<value><dateTime.iso8601>${escapeXml(w.v)}</dateTime.iso8601></value>`
    case 'base64':
      return `<value><base64>${w.v.toString('base64')}</base64></value>`
    case 'nil':
      return '<value><nil/></value>'
    case 'arr':
      return `<value><array><data>${w.v.map(encodeValue).join('')}</data></array></value>`
    case 'struct':
      return `<value><struct>${w.v.map(([k, v]) => `<member><name>${escapeXml(k)}</name>${encodeValue(v)}</member>`).join('')}</struct></value>`
  }
}

/** OCaml's %.16g: integral floats keep no fraction ("1"), which clients read back as 1. */
function formatDouble(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(16)))
}

export function encodeResponse(result: Wire): string {
  return `<?xml version="1.0"?><methodResponse><params><param>${encodeValue(result)}</param></params></methodResponse>`
}

export function encodeCall(call: RpcCall): string {
  const params = call.params.map((p) => `<param>${encodeValue(p)}</param>`).join('')
  return `<?xml version="1.0"?><methodCall><methodName>${escapeXml(call.method)}</methodName><params>${params}</params></methodCall>`
}
