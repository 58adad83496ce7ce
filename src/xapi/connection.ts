import { createClient, type Xapi } from 'xen-api'
import { XapiError, isXapiLike } from './errors.js'

export interface ConnectOptions {
  url: string
  user: string
  password: string
  /** Accept a self-signed certificate. Off unless the user asks. */
  allowUnauthorized?: boolean
  /** Pause between event.from polls; the client's default (200 ms) suits real hosts. */
  eventDebounceMs?: number
}

/** A logged-in XAPI session: the only object in the project that talks to xen-api. */
export interface XapiConnection {
  readonly url: string
  readonly sessionId: string
  call<T>(method: string, ...args: unknown[]): Promise<T>
  /** Async.<method> awaited through its task (task events, never polling). */
  callAsync<T>(method: string, ...args: unknown[]): Promise<T>
  /** Resolves with a task's result once it leaves `pending`; rejects on failure or cancel. */
  watchTask<T>(taskRef: string): Promise<T>
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
    // Tasks only: callAsync and task results need them, nothing else is cached.
    watchEvents: ['task'],
    debounce: opts.eventDebounceMs ?? 200,
  })
  const callLog: string[] = ['session.login_with_password']
  try {
    await client.connect()
  } catch (e) {
    await client.disconnect().catch(() => undefined)
    throw wrap(e, 'session.login_with_password')
  }
  return {
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
      callLog.push(`Async.${method}`)
      try {
        return (await client.callAsync(method, ...args)) as T
      } catch (e) {
        throw wrap(e, method)
      }
    },
    async watchTask<T>(taskRef: string): Promise<T> {
      try {
        return (await client.watchTask(taskRef)) as T
      } catch (e) {
        throw wrap(e, 'task')
      }
    },
    async close() {
      await client.disconnect()
    },
  }
}
