/**
 * VM name patterns: `web-{01..20}` is web-01 … web-20. A bound written with a leading
 * zero pads every number to its width, as bash brace expansion does; several ranges
 * multiply (`r{1..2}-web{1..3}` is six names). A list mixes names and patterns.
 */

/** A typo such as {1..10000} should fail loudly, not create ten thousand VMs. */
export const MAX_NAMES_PER_PATTERN = 1000

const RANGE = /\{(\d+)\.\.(\d+)\}/

export class NamePatternError extends Error {
  override name = 'NamePatternError'
}

function expandOne(pattern: string): string[] {
  const m = RANGE.exec(pattern)
  if (!m) {
    if (/[{}]/.test(pattern)) throw new NamePatternError(`"${pattern}": braces must hold a range such as {01..20}`)
    return [pattern]
  }
  const [whole, a, b] = m as unknown as [string, string, string]
  const from = Number(a)
  const to = Number(b)
  if (from > to) throw new NamePatternError(`"${pattern}": range {${a}..${b}} runs backwards`)
  const padded = (a.length > 1 && a.startsWith('0')) || (b.length > 1 && b.startsWith('0'))
  const width = padded ? Math.max(a.length, b.length) : 0
  const head = pattern.slice(0, m.index)
  const tail = pattern.slice(m.index + whole.length)
  const tails = expandOne(tail)
  if ((to - from + 1) * tails.length > MAX_NAMES_PER_PATTERN) {
    throw new NamePatternError(`"${pattern}" gives more than ${MAX_NAMES_PER_PATTERN} names`)
  }
  const out: string[] = []
  for (let n = from; n <= to; n++) {
    const num = String(n).padStart(width, '0')
    for (const t of tails) out.push(`${head}${num}${t}`)
  }
  return out
}

/** Expands a pattern or a list of them, in order; a name given twice is an error. */
export function expandNames(names: string | readonly string[]): string[] {
  const out = (typeof names === 'string' ? [names] : names).flatMap(expandOne)
  const seen = new Set<string>()
  for (const n of out) {
    if (n.length > 255) throw new NamePatternError(`"${n.slice(0, 40)}…" is longer than 255 characters`)
    if (seen.has(n)) throw new NamePatternError(`"${n}" appears twice`)
    seen.add(n)
  }
  return out
}
