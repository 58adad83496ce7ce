import { ImportFailure } from './import-raw-vdi.js'
import { XapiError } from '../../xapi/errors.js'
import { retrying, type RetryPolicy } from '../../xapi/retry-policy.js'

/** How hard one segment is retried: a toolstack restart (~30 s) is ridden out, and no new attempt starts after 10 minutes on one segment. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minTimeoutMs: 1000, maxTimeoutMs: 10_000, maxRetryTimeMs: 10 * 60_000 }

/** Transport failures a second attempt can get past: the link broke, or the host stalled. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  // undici's (the XAPI calls'): the host closed the connection before it answered.
  'UND_ERR_SOCKET',
])

/**
 * An XAPI call of the attempt (task.create, the task's wait) that never reached XAPI or
 * lost its connection: the host refused it or cut it, as during a toolstack restart.
 * Not a timeout: an API that takes the connection and then says nothing is hung, and
 * waiting for it again would only double the wait (timeouts.ts ends it clearly instead).
 */
function isTransportFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return e instanceof Error && !(e instanceof XapiError) && typeof code === 'string' && code !== 'ETIMEDOUT' && TRANSIENT_CODES.has(code)
}

/**
 * Explicit, never p-retry's default of "everything": a cut connection, a timeout and a
 * 5xx are retried, and so is the VDI_IO_ERROR XAPI records for a cut (it comes with
 * the broken transfer, which is what is tested here). So is a 401: the session was
 * good for this attempt's task.create a moment before, so it died in between (a
 * toolstack restart), and the next attempt's task.create logs in again. So is an XAPI
 * call of the attempt that the host refused or cut (a toolstack restart: ECONNREFUSED
 * while xapi is down). Another 4xx,
 * an XAPI error after a clean transfer (out of space, a bad VDI) or a local read error
 * fail at once.
 */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof ImportFailure)) return isTransportFailure(e)
  if (e.timedOut) return true
  if (e.http.status === 401) return true
  // Sent to a host that no longer serves the VDI: the next attempt asks XAPI where to go.
  if (e.http.status === 301 || e.http.status === 302 || e.http.status === 307) return true
  if (e.http.status !== undefined && e.http.status >= 500) return true
  return e.http.code !== undefined && TRANSIENT_CODES.has(e.http.code)
}

export interface RetryNotice {
  /** The attempt that failed, from 1. */
  attempt: number
  retriesLeft: number
  error: string
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the policy runs out; then the
 * last error is thrown with `attempts` set. `onRetry` hears of each retry before its
 * delay starts, so a user sees why the upload paused.
 */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, onRetry: (n: RetryNotice) => void, signal?: AbortSignal): Promise<T> {
  let attempts = 0
  try {
    return await retrying(
      () => {
        attempts++
        return attempt()
      },
      policy,
      {
        shouldRetry: isRetryable,
        onRetry: (c) => onRetry({ attempt: c.attemptNumber, retriesLeft: c.retriesLeft, error: c.error.message }),
      },
      signal,
    )
  } catch (e) {
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { attempts })
  }
}

/** How many attempts were made before `e` ended the retries (1 when it was not retried). */
export const attemptsOf = (e: unknown): number => (typeof e === 'object' && e !== null && typeof (e as { attempts?: unknown }).attempts === 'number' ? (e as { attempts: number }).attempts : 1)
