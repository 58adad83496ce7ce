import type { z } from 'zod'

/** Validates an XAPI answer; a mismatch names the method and the field. */
export function parseAnswer<T extends z.ZodType>(schema: T, value: unknown, method: string): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  throw new Error(`unexpected answer from ${method}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`)
}
