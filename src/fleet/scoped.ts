import type { XapiConnection } from '../xapi/connection.js'
import { XapiError } from '../xapi/errors.js'
import { awaitTask } from '../xapi/task-wait.js'
import { retrying, type RetryPolicy } from '../xapi/retry-policy.js'

/**
 * The two answers that mean "not now" rather than "no": XAPI's task queue is full, or
 * another operation holds the object (e.g. two clones of one base VDI). The call did
 * nothing, so repeating it is safe. Every other error fails at once.
 */
export const RETRIABLE = new Set(['TOO_MANY_PENDING_TASKS', 'OTHER_OPERATION_IN_PROGRESS'])

export type { RetryPolicy } from '../xapi/retry-policy.js'

export const DEFAULT_RETRY: RetryPolicy = { retries: 8, minTimeoutMs: 200, maxTimeoutMs: 5000 }

export interface RetryNotice {
  method: string
  code: string
  attempt: number
}

/** A connection that counts and retries the calls made through it; the session is shared. */
export interface ScopedConnection extends XapiConnection {
  readonly calls: number
}

/**
 * A view of a pool's one session for one job (a VM, a base upload): its calls are
 * counted apart (calls per VM is a figure the rollout reports) and retried with
 * back-off on RETRIABLE codes only. Async calls are retried whole: the failure comes
 * through the task, after the Async.* call itself succeeded.
 */
export function scoped(base: XapiConnection, retry: RetryPolicy, onRetry?: (n: RetryNotice) => void): ScopedConnection {
  let calls = 0
  let signal: AbortSignal | undefined
  const log: string[] = []
  const raw = async <T>(method: string, ...args: unknown[]): Promise<T> => {
    calls++
    log.push(method)
    return base.call<T>(method, ...args)
  }
  const retried = <T>(method: string, fn: () => Promise<T>): Promise<T> =>
    retrying(fn, retry, {
      shouldRetry: (error) => error instanceof XapiError && RETRIABLE.has(error.code),
      onRetry: ({ error, attemptNumber }) => onRetry?.({ method, code: error instanceof XapiError ? error.code : error.name, attempt: attemptNumber }),
    })
  // Delegation, never a copy ({ ...base }): a spread reads base's getters once, so the view
  // would keep the session id (and URL) of that moment and send a dead session after a
  // re-login. Each getter reads through to the live connection instead.
  const view: ScopedConnection = {
    get url() {
      return base.url
    },
    get sessionId() {
      return base.sessionId
    },
    get tls() {
      return base.tls
    },
    get timeouts() {
      return base.timeouts
    },
    get pool() {
      return base.pool
    },
    get calls() {
      return calls
    },
    callLog: log,
    call: <T>(method: string, ...args: unknown[]) => retried(method, () => raw<T>(method, ...args)),
    callAsync: <T>(method: string, ...args: unknown[]) =>
      retried(method, async () => {
        const task = await raw<string>(`Async.${method}`, ...args)
        try {
          return (await awaitTask({ call: raw }, task, method, signal)) as T
        } finally {
          await raw('task.destroy', task).catch(() => undefined)
        }
      }),
    watchTask: async <T>(task: string) => (await awaitTask({ call: raw }, task, 'task', signal)) as T,
    setAbortSignal(s) {
      signal = s
    },
    // The session belongs to the pool, not to this view.
    close: async () => undefined,
  }
  return view
}
