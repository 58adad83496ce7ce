import { WireFormatError } from './wire.js'

/** A parsed XML element: just enough structure for XML-RPC. */
export interface XmlElement {
  name: string
  attrs: Record<string, string>
  children: XmlElement[]
  text: string
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }
const MAX_DEPTH = 64

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#')) {
      const cp = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      // Only characters XML 1.0 allows: a reference to anything else is malformed.
      const allowed = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
      if (!allowed) throw new WireFormatError(`character reference ${m} is not an XML character`)
      return String.fromCodePoint(cp)
    }
    const v = ENTITIES[e]
    if (v === undefined) throw new WireFormatError(`unknown XML entity ${m}`)
    return v
  })
}

/**
 * A small, non-validating XML parser. It refuses DOCTYPE outright so no entity can be
 * defined, let alone expanded (billion laughs), and bounds nesting depth.
 */
export function parseXml(src: string): XmlElement {
  let i = 0
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' }
  const stack: XmlElement[] = [root]
  while (i < src.length) {
    const lt = src.indexOf('<', i)
    const top = stack[stack.length - 1]!
    if (lt < 0) {
      top.text += decodeEntities(src.slice(i))
      break
    }
    if (lt > i) top.text += decodeEntities(src.slice(i, lt))
    if (src.startsWith('<?', lt)) {
      const end = src.indexOf('?>', lt)
      if (end < 0) throw new WireFormatError('unterminated processing instruction')
      i = end + 2
    } else if (src.startsWith('<!--', lt)) {
      const end = src.indexOf('-->', lt)
      if (end < 0) throw new WireFormatError('unterminated comment')
      i = end + 3
    } else if (src.startsWith('<![CDATA[', lt)) {
      const end = src.indexOf(']]>', lt)
      if (end < 0) throw new WireFormatError('unterminated CDATA')
      top.text += src.slice(lt + 9, end)
      i = end + 3
    } else if (src.startsWith('<!', lt)) {
      throw new WireFormatError('DOCTYPE and entity declarations are not accepted')
    } else if (src[lt + 1] === '/') {
      const end = src.indexOf('>', lt)
      if (end < 0) throw new WireFormatError('unterminated end tag')
      const name = src.slice(lt + 2, end).trim()
      if (top.name !== name) throw new WireFormatError(`mismatched end tag </${name}>, expected </${top.name}>`)
      stack.pop()
      i = end + 1
    } else {
      const end = src.indexOf('>', lt)
      if (end < 0) throw new WireFormatError('unterminated start tag')
      let body = src.slice(lt + 1, end)
      const selfClosing = body.endsWith('/')
      if (selfClosing) body = body.slice(0, -1)
      const name = body.trim().split(/\s+/)[0] ?? ''
      if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new WireFormatError(`bad tag name ${JSON.stringify(name)}`)
      const el: XmlElement = { name, attrs: parseAttrs(body.slice(name.length + body.indexOf(name))), children: [], text: '' }
      top.children.push(el)
      if (!selfClosing) {
        if (stack.length > MAX_DEPTH) throw new WireFormatError('XML nested too deeply')
        stack.push(el)
      }
      i = end + 1
    }
  }
  if (stack.length !== 1) throw new WireFormatError(`unclosed element <${stack[stack.length - 1]!.name}>`)
  const [doc, ...rest] = root.children
  if (!doc || rest.length) throw new WireFormatError('expected exactly one root element')
  return doc
}

const NAME_START = /[A-Za-z_]/
const NAME_CHAR = /[\w.:-]/
const SPACE = /\s/

/**
 * name="value" pairs, scanned left to right once: a regex here backtracked over every
 * start position, so 120 KB of attribute text took 18 s of the event loop. Anything that
 * is not a well-formed pair is skipped, as the regex skipped it.
 */
function parseAttrs(s: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < s.length) {
    if (!NAME_START.test(s[i]!)) {
      i++
      continue
    }
    const start = i
    while (i < s.length && NAME_CHAR.test(s[i]!)) i++
    const name = s.slice(start, i)
    let j = i
    while (j < s.length && SPACE.test(s[j]!)) j++
    if (s[j] !== '=') continue
    j++
    while (j < s.length && SPACE.test(s[j]!)) j++
    const quote = s[j]
    if (quote !== '"' && quote !== "'") {
      i = j
      continue
    }
    const close = s.indexOf(quote, j + 1)
    if (close < 0) break
    out[name] = decodeEntities(s.slice(j + 1, close))
    i = close + 1
  }
  return out
}

/** Anything escapeXml would change; most strings (refs, uuids, names) have none. */
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f&<>"]/

export function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s
  // XAPI drops control characters other than tab, LF and CR: they cannot appear in XML 1.0.
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}
