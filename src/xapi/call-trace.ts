import { redact } from './secrets.js'

/**
 * An observer of every XAPI request a connection sends (the CLI's --verbose), as the
 * transport sees it (timed-transport.ts): method, arguments as sent, each as text with
 * every secret already hidden (the session id that leads most calls, the login's
 * password), duration, and the error code when it failed. One per process; unset,
 * requests pay one comparison.
 */
export interface TracedCall {
  method: string
  args: readonly string[]
  ms: number
  error?: string
}

let sink: ((c: TracedCall) => void) | undefined

export function setCallTrace(fn: ((c: TracedCall) => void) | undefined): void {
  sink = fn
}

/** One argument as text, through secrets.ts: a sink never holds a secret, whatever it does with the text (cutting it included). */
const shown = (a: unknown): string => redact(typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)))

export function traceCall(method: string, args: readonly unknown[], started: number, error?: unknown): void {
  if (sink === undefined) return
  const code = error === undefined ? undefined : typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : error instanceof Error ? error.name : 'failed'
  sink({ method, args: args.map(shown), ms: performance.now() - started, ...(code !== undefined ? { error: code } : {}) })
}
