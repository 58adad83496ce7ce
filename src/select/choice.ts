import { UserError, type ErrorCode } from '../errors.js'

/**
 * What a selection rule returns: the thing chosen, or a refusal that says what, why and
 * how to fix it. The rules never throw and never call XAPI; the caller decides whether a
 * refusal stops the run (provision) or fails one VM of a plan (the fleet).
 */
export interface Refusal {
  code: ErrorCode
  what: string
  why: string
  fix: string
}

export type Choice<T> = { ok: true; value: T } | { ok: false; refusal: Refusal }

export const chosen = <T>(value: T): Choice<T> => ({ ok: true, value })
export const refused = <T>(refusal: Refusal): Choice<T> => ({ ok: false, refusal })

/** The chosen value, or the refusal as the user-facing error. */
export function orThrow<T>(c: Choice<T>): T {
  if (c.ok) return c.value
  throw new UserError(c.refusal)
}

/**
 * Where the user names the object, so a fix speaks of the file they edit: a recipe
 * (`provision`) or a fleet file (`provision fleet`).
 */
export type Source = 'recipe' | 'fleet'

/** A ref and the record it was read with: what every rule hands back. */
export interface Picked<R> {
  ref: string
  record: R
}
