import type { Store } from './store.js'
import type { Value } from './datamodel/model.js'
import type { Wire } from './codec/wire.js'
import type { SimState } from './state.js'

/** What a method implementation sees: the database, the simulator's state and the caller. */
export interface Ctx {
  store: Store
  sim: SimState
  session: string
  method: string
  /** Set when called as Async.<method>: the task tracking this call. */
  task?: string
}

export type Handler = (ctx: Ctx, args: Value[]) => Value | void | Promise<Value | void>
export type Handlers = Record<string, Handler>

export const refArg = (v: Value | undefined): string => (typeof v === 'string' ? v : '')

/** A handler result already in wire form, for the few results the datamodel cannot type. */
const WIRE = Symbol('wire')
export function wireResult(w: Wire): Value {
  return { [WIRE]: w } as unknown as Value
}
export function asWireResult(v: unknown): Wire | undefined {
  return v && typeof v === 'object' && WIRE in v ? (v as { [WIRE]: Wire })[WIRE] : undefined
}
