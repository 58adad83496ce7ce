import { createClient, type Xapi } from 'xen-api'
import { XapiError, isXapiLike } from './errors.js'
import { awaitTask } from './task-wait.js'
import { Agent } from 'undici'
import type { TlsSettings } from './tls.js'

export interface ConnectOptions {
  url: string
  user: string
  password: string
  /** Accept any certificate. Off unless the user asks (--insecure). */
  allowUnauthorized?: boolean
  /** From resolveTls(): a pinned certificate becomes the only trusted CA. */
  tls?: TlsSettings
}

/** A logged-in XAPI session: the only object in the project that talks to xen-api. */
export interface XapiConnection {
  readonly url: string
  readonly sessionId: string
  /** The TLS trust every HTTP request to this host must use (uploads included). */
  readonly tls: TlsSettings
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

/**
 * xen-api 4.7.6 builds its undici Agent from rejectUnauthorized alone, with no way to
 * pass a CA. For a pinned certificate it gets an Agent that trusts exactly that one.
 * This reaches into a private field of the pinned client version, so it lives here only.
 */
function pinDispatcher(client: Xapi, tls: TlsSettings): void {
  const slot = client as unknown as { _undiciDispatcher?: Agent; _url?: unknown; _setUrl?: (url: unknown) => void }
  if (!slot._undiciDispatcher || !slot._url || typeof slot._setUrl !== 'function') {
    throw new Error('xen-api internals changed: cannot pin the TLS certificate')
  }
  slot._undiciDispatcher = new Agent({
    bodyTimeout: 5 * 60_000,
    headersTimeout: 5 * 60_000,
    connect: { ca: tls.ca, rejectUnauthorized: true, ...(tls.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {}) },
  })
  // The transport captured the old dispatcher when the client was built: rebuild it.
  slot._setUrl(slot._url)
}

/** The URL the client is talking to now: the login may have been redirected to the pool master. */
function currentUrl(client: Xapi, fallback: string): string {
  const u = (client as unknown as { _url?: { protocol?: string; hostname?: string; port?: string } })._url
  if (!u?.hostname) return fallback
  const out = new URL(fallback)
  out.hostname = u.hostname
  return out.href
}

/** Logins joined by one call before its assertion error stands. */
const RELOGIN_JOINS = 3

function isReloginRace(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === 'ERR_ASSERTION' && (e as { operator?: unknown }).operator === 'notStrictEqual'
}

function wrap(e: unknown, method: string): unknown {
  // SESSION_INVALID's parameter is the session ref itself: a secret, never put in a message.
  if (isXapiLike(e)) return new XapiError(e.code, e.code === 'SESSION_INVALID' ? [] : e.params.map(String), method)
  if (isReloginRace(e)) return new Error(`${method}: the session to the host was lost and logging in again failed; run the command again`)
  return e
}

export async function connect(opts: ConnectOptions): Promise<XapiConnection> {
  const tls: TlsSettings = opts.tls ?? { rejectUnauthorized: !opts.allowUnauthorized }
  const client: Xapi = createClient({
    url: opts.url,
    auth: { user: opts.user, password: opts.password },
    allowUnauthorized: !tls.rejectUnauthorized,
    // XML-RPC is what every XAPI since XenServer 5 speaks; auto would probe /jsonrpc first.
    transport: 'xml-rpc',
    // No background event loop: tasks are awaited with event.from on the one task
    // (task-wait.ts), so nothing stays in flight once a run is over.
    watchEvents: false,
  })
  if (tls.ca) pinDispatcher(client, tls)
  const callLog: string[] = ['session.login_with_password']
  let abortSignal: AbortSignal | undefined
  try {
    await client.connect()
  } catch (e) {
    await client.disconnect().catch(() => undefined)
    throw wrap(e, 'session.login_with_password')
  }
  const conn: XapiConnection = {
    // After HOST_IS_SLAVE the client has moved to the master; uploads must follow it.
    get url() {
      return currentUrl(client, opts.url)
    },
    tls,
    // A getter: the client logs in again after SESSION_INVALID (toolstack restart), and
    // HTTP transfers built after that must carry the new session, not the dead one.
    get sessionId() {
      return client.sessionId
    },
    callLog,
    async call<T>(method: string, ...args: unknown[]): Promise<T> {
      callLog.push(method)
      for (let attempt = 1; ; attempt++) {
        try {
          return (await client.call(method, ...args)) as T
        } catch (e) {
          // xen-api 4.7.6 clears its session id while it logs in again after SESSION_INVALID,
          // and a call that starts meanwhile fails an assertion before anything is sent. Its
          // login is coalesced, so asking for one joins the login under way (or, if that one
          // failed, tries once more and throws why); then the call, which XAPI never saw, is
          // made again.
          if (isReloginRace(e) && attempt <= RELOGIN_JOINS) {
            try {
              await (client as unknown as { _sessionOpen(): Promise<void> })._sessionOpen()
            } catch (loginError) {
              throw wrap(loginError, 'session.login_with_password')
            }
            continue
          }
          throw wrap(e, method)
        }
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
