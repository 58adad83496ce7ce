import { z } from 'zod'

/**
 * The fault knobs, one schema for the library API, the HTTP admin endpoint and the
 * inventory file. A rule sits in front of dispatch (or of the upload handler) and
 * fires on the `nth` matching call counted from when it was added (default 1, the
 * next one), at most `times` times (default 1; 0 means every time from then on).
 */
const when = {
  nth: z.number().int().min(1).optional(),
  times: z.number().int().min(0).optional(),
}
/** "VM.start" also matches Async.VM.start; "*" matches every call. */
const method = z.string().min(1)

export const ErrorRule = z.object({ method, error: z.tuple([z.string().min(1)]).rest(z.string()), ...when }).strict()
export const DelayRule = z.object({ method, delayMs: z.number().int().min(0).max(600_000), ...when }).strict()
/**
 * The matching call waits, in flight, until the test lets it go (Faults.hold().release(),
 * or DELETE /_sim/faults), or `maxMs` (default 60 s) has passed: a test waits for the
 * moment it needs instead of guessing a delay, and a forgotten hold cannot wedge the server.
 */
export const HoldRule = z.object({ method, hold: z.literal(true), maxMs: z.number().int().min(1).max(600_000).optional(), ...when }).strict()
export const UploadCutRule = z.object({ upload: z.literal('cut'), afterBytes: z.number().int().min(0), ...when }).strict()
export const UploadHttp500Rule = z.object({ upload: z.literal('http500'), ...when }).strict()

export const FaultRuleSchema = z.union([ErrorRule, DelayRule, HoldRule, UploadCutRule, UploadHttp500Rule])
export type FaultRule = z.input<typeof FaultRuleSchema>
export type CallRule = z.infer<typeof ErrorRule> | z.infer<typeof DelayRule> | z.infer<typeof HoldRule>
export type UploadRule = z.infer<typeof UploadCutRule> | z.infer<typeof UploadHttp500Rule>

/** One-off changes to the simulated world, applied at once rather than matched against calls. */
export const FaultActionSchema = z.discriminatedUnion('action', [
  /** Every session becomes invalid: the next call with one answers SESSION_INVALID. */
  z.object({ action: z.literal('expire-sessions') }).strict(),
  /** The SR shrinks to what its VDIs use (plus `freeBytes`): the next VDI.create is SR_BACKEND_FAILURE_44. */
  z.object({ action: z.literal('sr-full'), sr: z.string().min(1), freeBytes: z.number().int().min(0).optional() }).strict(),
  /** Another host of the pool becomes master: logins on the old one answer HOST_IS_SLAVE. */
  z.object({ action: z.literal('master-change'), host: z.string().min(1) }).strict(),
])
export type FaultAction = z.infer<typeof FaultActionSchema>

/** What POST /_sim/faults accepts: one rule or action, or a list of them. */
export const FaultRequestSchema = z.union([FaultRuleSchema, FaultActionSchema, z.array(z.union([FaultRuleSchema, FaultActionSchema]))])
