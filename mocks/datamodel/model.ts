import { XapiFault } from '../fault.js'
import type { Wire } from '../codec/wire.js'
import { DATAMODEL_JSON } from './datamodel.js'

/** The subset of XAPI's datamodel (xenapi.json) the simulator serves; see scripts/extract-datamodel.py. */
export interface FieldDef {
  name: string
  type: string
  qualifier: string
  default?: string
}
export interface MessageDef {
  name: string
  params: { name: string; type: string }[]
  result: string
  implicit: boolean
  ctor?: { fields: string[]; required: string[] }
}
export interface ClassDef {
  fields: FieldDef[]
  messages: MessageDef[]
}
interface Datamodel {
  classes: Record<string, ClassDef>
  enums: Record<string, string[]>
  /** Every class of xenapi.json with its message names, served or not (mocks/coverage.ts). */
  catalogue: Record<string, string[]>
}

// Generated into a .ts module rather than read from a .json file: tsc carries it into
// dist/, so the published package's simulator finds its datamodel.
export const datamodel: Datamodel = JSON.parse(DATAMODEL_JSON) as Datamodel

export type Value = string | number | boolean | Value[] | { [k: string]: Value }
export type XRecord = Record<string, Value>

export const NULL_REF = 'OpaqueRef:NULL'
export const EPOCH = '19700101T00:00:00Z'

export function classDef(cls: string): ClassDef {
  const c = datamodel.classes[cls]
  if (!c) throw new Error(`class ${cls} is not in the simulator's datamodel`)
  return c
}

export function messageDef(cls: string, name: string): MessageDef | undefined {
  return datamodel.classes[cls]?.messages.find((m) => m.name === name)
}

/** Zero value of a datamodel type, used when the datamodel gives no default. */
export function zeroOf(type: string): Value {
  if (type.endsWith(' set')) return []
  if (type.endsWith(' map')) return {}
  if (type.endsWith(' ref')) return NULL_REF
  if (type.startsWith('enum ')) return datamodel.enums[type.slice(5)]?.[0] ?? ''
  switch (type) {
    case 'int':
    case 'float':
      return 0
    case 'bool':
      return false
    case 'datetime':
      return EPOCH
    default:
      return ''
  }
}

/** The datamodel writes defaults in OCaml-ish syntax ('""', '{}', '1.', 'Null'). */
function parseDefault(f: FieldDef): Value {
  const d = f.default
  if (d === undefined) return zeroOf(f.type)
  if (d === '{}' || d === '[]') return zeroOf(f.type)
  if (d === 'Null' || d === 'OpaqueRef:NULL') return NULL_REF
  if (d.startsWith('"')) return d.slice(1, -1)
  if (f.type === 'bool') return d === 'true'
  if (f.type === 'int' || f.type === 'float') return Number(d.replace(/\.$/, ''))
  return d
}

export function defaultRecord(cls: string): XRecord {
  return Object.fromEntries(classDef(cls).fields.map((f) => [f.name, parseDefault(f)]))
}

export function fieldDef(cls: string, name: string): FieldDef | undefined {
  return classDef(cls).fields.find((f) => f.name === name)
}

const unmarshal = (msg: string): XapiFault => new XapiFault('INTERNAL_ERROR', [msg])

/** Datamodel type + JS value -> wire value, as XAPI marshals it. */
export function toWire(type: string, value: Value | undefined, cls?: string): Wire {
  if (type === 'int') return { t: 'int', v: String(value ?? 0) }
  if (type === 'float') return { t: 'double', v: Number(value ?? 0) }
  if (type === 'bool') return { t: 'bool', v: Boolean(value) }
  if (type === 'datetime') return { t: 'date', v: String(value ?? EPOCH) }
  if (type.endsWith(' set')) {
    const inner = type.slice(0, -4)
    return { t: 'arr', v: (Array.isArray(value) ? value : []).map((x) => toWire(inner, x)) }
  }
  const map = /^\((.+) -> (.+)\) map$/.exec(type)
  if (map) {
    const obj = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<string, Value>
    return { t: 'struct', v: Object.entries(obj).map(([k, v]) => [k, toWire(map[2]!, v)]) }
  }
  if (type.endsWith(' record')) {
    const c = type === '<class> record' ? cls : type.slice(0, -7)
    if (!c) throw new Error('record type without a class')
    const rec = (value ?? {}) as XRecord
    return { t: 'struct', v: classDef(c).fields.map((f) => [f.name, toWire(f.type, rec[f.name], c)]) }
  }
  return { t: 'str', v: String(value ?? '') }
}

/** Wire value -> JS value for a parameter of the given datamodel type, with rpclib's leniencies. */
export function fromWire(type: string, w: Wire): Value {
  if (type === 'int') {
    if (w.t === 'int' || w.t === 'str') {
      if (!/^[-+]?\d+$/.test(w.v)) throw unmarshal(`Expected int64, got '${w.v}'`)
      return Number(w.v)
    }
    if (w.t === 'i4' || w.t === 'double') return Math.trunc(w.v)
    throw unmarshal(`Expected int64, got ${w.t}`)
  }
  if (type === 'float') {
    if (w.t === 'double' || w.t === 'i4') return w.v
    if (w.t === 'int' || w.t === 'str') {
      const n = Number(w.v)
      if (Number.isNaN(n)) throw unmarshal(`Expected float, got '${w.v}'`)
      return n
    }
    throw unmarshal(`Expected float, got ${w.t}`)
  }
  if (type === 'bool') {
    // Only <boolean> is accepted: a string "true" is an unmarshalling error on XAPI.
    if (w.t !== 'bool') throw unmarshal(`Expected bool, got '${w.t === 'str' ? w.v : w.t}'`)
    return w.v
  }
  if (type.endsWith(' set')) {
    if (w.t !== 'arr') throw unmarshal(`Expected array, got ${w.t}`)
    return w.v.map((x) => fromWire(type.slice(0, -4), x))
  }
  const map = /^\((.+) -> (.+)\) map$/.exec(type)
  if (map) {
    if (w.t !== 'struct') throw unmarshal(`Expected struct, got ${w.t}`)
    return Object.fromEntries(w.v.map(([k, v]) => [k, fromWire(map[2]!, v)]))
  }
  if (type.startsWith('enum ')) {
    if (w.t !== 'str') throw unmarshal(`Expected enum string, got ${w.t}`)
    const values = datamodel.enums[type.slice(5)] ?? []
    // Enums match case-insensitively on input (ppx_deriving_rpc lowercases).
    const found = values.find((v) => v.toLowerCase() === w.v.toLowerCase())
    if (found === undefined) throw new XapiFault('INVALID_VALUE', [w.v])
    return found
  }
  if (type.endsWith(' record')) {
    if (w.t !== 'struct') throw unmarshal(`Expected struct, got ${w.t}`)
    return Object.fromEntries(w.v.map(([k, v]) => [k, v])) as unknown as Value
  }
  if (w.t === 'str' || w.t === 'int') return w.v
  if (w.t === 'date') return w.v
  throw unmarshal(`Expected string, got ${w.t}`)
}
