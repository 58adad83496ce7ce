import { type Wire, WireFormatError } from './wire.js'

/**
 * JSON text <-> the shared Wire model. JSON.parse would round int64 values above 2^53
 * (VDI sizes, memory) to the nearest double; this parser keeps each integer literal's
 * digits, so an int64 survives the trip exactly as it does over XML-RPC.
 */
const MAX_DEPTH = 64
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y
const WS = /[ \t\n\r]*/y

export function parseJson(src: string): Wire {
  let i = 0
  const fail = (what: string): never => {
    throw new WireFormatError(`bad JSON at offset ${i}: ${what}`)
  }
  const ws = (): void => {
    WS.lastIndex = i
    WS.test(src)
    i = WS.lastIndex
  }
  const string = (): string => {
    const start = i
    i++
    while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1
    if (i >= src.length) fail('unterminated string')
    i++
    // The literal's escapes are JSON's own: let JSON.parse decode just this slice.
    try {
      return JSON.parse(src.slice(start, i)) as string
    } catch {
      return fail('bad escape in a string')
    }
  }
  const value = (depth: number): Wire => {
    if (depth > MAX_DEPTH) fail('nested too deeply')
    ws()
    const c = src[i]
    if (c === '"') return { t: 'str', v: string() }
    if (c === '{') {
      i++
      const members: [string, Wire][] = []
      ws()
      if (src[i] === '}') {
        i++
        return { t: 'struct', v: members }
      }
      for (;;) {
        ws()
        if (src[i] !== '"') fail('expected a member name')
        const k = string()
        ws()
        if (src[i++] !== ':') fail('expected ":"')
        members.push([k, value(depth + 1)])
        ws()
        const sep = src[i++]
        if (sep === '}') return { t: 'struct', v: members }
        if (sep !== ',') fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      const items: Wire[] = []
      ws()
      if (src[i] === ']') {
        i++
        return { t: 'arr', v: items }
      }
      for (;;) {
        items.push(value(depth + 1))
        ws()
        const sep = src[i++]
        if (sep === ']') return { t: 'arr', v: items }
        if (sep !== ',') fail('expected "," or "]"')
      }
    }
    for (const [word, w] of [
      ['true', { t: 'bool', v: true }],
      ['false', { t: 'bool', v: false }],
      ['null', { t: 'nil' }],
    ] as const) {
      if (src.startsWith(word, i)) {
        i += word.length
        return w
      }
    }
    NUMBER.lastIndex = i
    const m = NUMBER.exec(src)
    if (!m) return fail('unexpected character')
    i = NUMBER.lastIndex
    return m[1] === undefined && m[2] === undefined ? { t: 'int', v: m[0] } : { t: 'double', v: Number(m[0]) }
  }
  const out = value(0)
  ws()
  if (i !== src.length) fail('trailing data')
  return out
}

/** rpclib's JSON marshalling: int64 as a number literal, datetimes as XAPI strings. */
export function formatJson(w: Wire): string {
  switch (w.t) {
    case 'str':
    case 'date':
      return JSON.stringify(w.v)
    case 'int':
      return /^-?\d+$/.test(w.v) ? w.v.replace(/^(-?)0+(?=\d)/, '$1') : JSON.stringify(w.v)
    case 'i4':
      return String(w.v)
    case 'double':
      return Number.isFinite(w.v) ? String(w.v) : 'null'
    case 'bool':
      return w.v ? 'true' : 'false'
    case 'base64':
      return JSON.stringify(w.v.toString('base64'))
    case 'nil':
      return 'null'
    case 'arr':
      return `[${w.v.map(formatJson).join(',')}]`
    case 'struct':
      return `{${w.v.map(([k, v]) => `${JSON.stringify(k)}:${formatJson(v)}`).join(',')}}`
  }
}
