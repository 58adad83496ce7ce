import pRetry, { type RetryContext } from 'p-retry'

/**
 * How hard one kind of call is retried, in p-retry's own terms (its names, in the
 * project's milliseconds spelling): the upload's segments (src/upload/retry.ts) and the
 * fleet's "not now" answers (src/fleet/scoped.ts) each have their defaults, and tests
 * shorten both the same way.
 */
export interface RetryPolicy {
  /** Attempts after the first; 0 disables retrying. */
  retries: number
  /** First delay; each next one doubles, with jitter (×1–2), up to maxTimeoutMs. */
  minTimeoutMs: number
  maxTimeoutMs: number
  /** No new attempt starts after this long, whatever `retries` says; no limit when absent. */
  maxRetryTimeMs?: number
}

/** What each caller says for itself: retries are opt-in per kind of call, never p-retry's default of "everything". */
export interface RetryRule {
  shouldRetry: (error: Error) => boolean
  /**
   * Hears of each retry before its delay starts, so a user sees why the work paused: only
   * for an error shouldRetry accepted, and only when another attempt will really be made
   * (p-retry asks shouldRetry only then).
   */
  onRetry?: (c: RetryContext) => void
}

/** Runs `fn` under the policy with p-retry's own hooks (shouldRetry, signal). */
export function retrying<T>(fn: (attemptNumber: number) => Promise<T>, policy: RetryPolicy, rule: RetryRule, signal?: AbortSignal): Promise<T> {
  return pRetry(fn, {
    retries: policy.retries,
    factor: 2,
    minTimeout: policy.minTimeoutMs,
    maxTimeout: policy.maxTimeoutMs,
    ...(policy.maxRetryTimeMs !== undefined ? { maxRetryTime: policy.maxRetryTimeMs } : {}),
    randomize: true,
    shouldRetry: (c: RetryContext) => {
      const retry = rule.shouldRetry(c.error)
      if (retry) rule.onRetry?.(c)
      return retry
    },
    ...(signal ? { signal } : {}),
  })
}
