/**
 * The XML-RPC value model shared by both codecs. Keeping the wire kind explicit
 * (instead of plain JS values) is what lets the simulator write an int64 as a bare
 * string, a float as <double> and valid_ref_counts as <i4>, exactly as XAPI does.
 */
export type Wire =
  | { t: 'str'; v: string }
  | { t: 'int'; v: string }
  | { t: 'i4'; v: number }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'date'; v: string }
  | { t: 'base64'; v: Buffer }
  | { t: 'nil' }
  | { t: 'arr'; v: Wire[] }
  | { t: 'struct'; v: [string, Wire][] }

export const str = (v: string): Wire => ({ t: 'str', v })
export const arr = (v: Wire[]): Wire => ({ t: 'arr', v })
export const struct = (v: [string, Wire][]): Wire => ({ t: 'struct', v })

/** A malformed request: answered with HTTP 500, as XAPI does for unparsable bodies. */
export class WireFormatError extends Error {
  override name = 'WireFormatError'
}

/** Plain JS view of a decoded value, for parameters whose datamodel type is unknown. */
export function wireToPlain(w: Wire): unknown {
  switch (w.t) {
    case 'arr':
      return w.v.map(wireToPlain)
    case 'struct':
      return Object.fromEntries(w.v.map(([k, v]) => [k, wireToPlain(v)]))
    case 'nil':
      return null
    case 'base64':
      return w.v
    default:
      return w.v
  }
}
