import { createClient, type Xapi } from 'xen-api'
import { XapiError, isXapiLike } from './errors.js'
import { awaitTask } from './task-wait.js'

export interface ConnectOptions {
  url: string
  user: string
  password: string
  /** Accept a self-signed certificate. Off unless the user asks. */
  allowUnauthorized?: boolean
}

/** A logged-in XAPI session: the only object in the project that talks to xen-api. */
export interface XapiConnection {
  readonly url: string
  readonly sessionId: string
  call<T>(method: string, ...args: unknown[]): Promise<T>
  /** Async.<method> awaited through its task (event.from on that task, never polling). */
  callAsync<T>(method: string, ...args: unknown[]): Promise<T>
  /** Resolves with a task's result once it leaves `pending`; rejects on failure or cancel. */
  watchTask<T>(taskRef: string): Promise<T>
  /**
   * While set, an abort cancels the XAPI task being awaited (task.cancel); plain calls
   * are never cut, so a rollback after an interrupt still runs to the end.
   */
  setAbortSignal(signal: AbortSignal | undefined): void
  /** Every method called, in order, for --json reports and tests. */
  readonly callLog: readonly string[]
  close(): Promise<void>
}

function wrap(e: unknown, method: string): unknown {
  if (isXapiLike(e)) return new XapiError(e.code, e.params.map(String), method)
  return e
}

export async function connect(opts: ConnectOptions): Promise<XapiConnection> {
  const client: Xapi = createClient({
    url: opts.url,
    auth: { user: opts.user, password: opts.password },
    allowUnauthorized: opts.allowUnauthorized ?? false,
    // XML-RPC is what every XAPI since XenServer 5 speaks; auto would probe /jsonrpc first.
    transport: 'xml-rpc',
    // No background event loop: tasks are awaited with event.from on the one task
    // (task-wait.ts), so nothing stays in flight once a run is over.
    watchEvents: false,
  })
  const callLog: string[] = ['session.login_with_password']
  let abortSignal: AbortSignal | undefined
  try {
    await client.connect()
  } catch (e) {
    await client.disconnect().catch(() => undefined)
    throw wrap(e, 'session.login_with_password')
  }
  const conn: XapiConnection = {
    url: opts.url,
    sessionId: client.sessionId,
    callLog,
    async call<T>(method: string, ...args: unknown[]): Promise<T> {
      callLog.push(method)
      try {
        return (await client.call(method, ...args)) as T
      } catch (e) {
        throw wrap(e, method)
      }
    },
    async callAsync<T>(method: string, ...args: unknown[]): Promise<T> {
      const taskRef = await conn.call<string>(`Async.${method}`, ...args)
      try {
        return (await awaitTask(conn, taskRef, method, abortSignal)) as T
      } finally {
        await conn.call('task.destroy', taskRef).catch(() => undefined)
      }
    },
    async watchTask<T>(taskRef: string): Promise<T> {
      return (await awaitTask(conn, taskRef, 'task', abortSignal)) as T
    },
    setAbortSignal(signal) {
      abortSignal = signal
    },
    async close() {
      await client.disconnect()
    },
  }
  return conn
}
