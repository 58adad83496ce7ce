/**
 * An observer of every XAPI call a connection makes (the CLI's --verbose): method,
 * arguments as given (never the session, which the client adds), duration, and the
 * error code when it failed. One per process; unset, calls pay one comparison.
 */
export interface TracedCall {
  method: string
  args: readonly unknown[]
  ms: number
  error?: string
}

let sink: ((c: TracedCall) => void) | undefined

export function setCallTrace(fn: ((c: TracedCall) => void) | undefined): void {
  sink = fn
}

export function traceCall(method: string, args: readonly unknown[], started: number, error?: unknown): void {
  if (sink === undefined) return
  const code = error === undefined ? undefined : typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : error instanceof Error ? error.name : 'failed'
  sink({ method, args, ms: performance.now() - started, ...(code !== undefined ? { error: code } : {}) })
}
