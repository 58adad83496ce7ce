import { XapiError } from './errors.js'

/** The subset of a connection awaitTask needs (keeps this module free of xen-api). */
interface Caller {
  call<T>(method: string, ...args: unknown[]): Promise<T>
}

interface TaskSnapshot {
  status: string
  result: string
  error_info: string[]
}

interface EventBatch {
  events: { ref: string; operation: string; snapshot?: TaskSnapshot }[]
  token: string
}

/** event.from's timeout; a float, so the client sends it as <double> as XAPI requires. */
const POLL_SECONDS = 30.1

/**
 * A task's result is an XML-RPC fragment even over JSON-RPC: "<value>OpaqueRef:…</value>"
 * for a ref, "" or "<value></value>" for void. Only string results are expected here.
 */
export function parseTaskResult(result: string): string {
  if (result === '') return ''
  const m = /^<value>(?:<string>)?([^<]*)(?:<\/string>)?<\/value>\s*$/.exec(result)
  if (!m) throw new Error(`unexpected task result ${JSON.stringify(result.slice(0, 200))}`)
  return m[1]!
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

function settle(ref: string, method: string, t: TaskSnapshot): string | undefined {
  if (t.status === 'success') return parseTaskResult(t.result)
  if (t.status === 'failure') {
    const [code = 'INTERNAL_ERROR', ...params] = t.error_info
    throw new XapiError(code, params, method)
  }
  if (t.status === 'cancelled') throw new XapiError('TASK_CANCELLED', [ref], method)
  return undefined
}

/**
 * Waits for a task through event.from on that one task ("task/<ref>"), started from
 * token "" so the current state comes first and no change can slip between a read and
 * the wait. No background loop: once the task settles, nothing is left in flight.
 */
export async function awaitTask(x: Caller, ref: string, method: string, signal?: AbortSignal): Promise<string> {
  let token = ''
  // An interrupt cancels the task and keeps waiting: XAPI decides when it has stopped.
  let cancelled = false
  const cancel = (): void => {
    if (cancelled) return
    cancelled = true
    x.call('task.cancel', ref).catch(() => undefined)
  }
  if (signal?.aborted) cancel()
  signal?.addEventListener('abort', cancel, { once: true })
  try {
    return await waitLoop(
      x,
      ref,
      method,
      () => token,
      (t) => (token = t),
    )
  } finally {
    signal?.removeEventListener('abort', cancel)
  }
}

async function waitLoop(x: Caller, ref: string, method: string, getToken: () => string, setToken: (t: string) => void): Promise<string> {
  for (;;) {
    const token = getToken()
    const batch = await x.call<EventBatch>('event.from', [`task/${ref}`], token, POLL_SECONDS)
    setToken(batch.token)
    for (const ev of batch.events) {
      if (ev.ref !== ref) continue
      if (ev.operation === 'del') throw new XapiError('HANDLE_INVALID', ['task', ref], method)
      const done = ev.snapshot && settle(ref, method, ev.snapshot)
      if (done !== undefined) return done
    }
  }
}
