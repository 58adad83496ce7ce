import { createClient, type Xapi } from 'xen-api'
import { XapiError, isXapiLike } from './errors.js'
import { awaitTask } from './task-wait.js'
import type { TlsSettings } from './tls.js'
import { HostTimeout, callAllowanceMs, withDefaults, type Timeouts } from './timeouts.js'
import { DeadlineExceeded, timeTransport } from './timed-transport.js'
import { registerSecret } from './secrets.js'
import { REFUSED_RIDE_OUT_MS, RefusedWindow } from './refused.js'
import { wrongScheme } from './wrong-scheme.js'

export interface ConnectOptions {
  url: string
  user: string
  password: string
  /** Accept any certificate. Off unless the user asks (--insecure). */
  allowUnauthorized?: boolean
  /** From resolveTls(): a pinned certificate becomes the only trusted CA. */
  tls?: TlsSettings
  /** Connect, response and idle limits for every call and transfer (timeouts.ts); defaults for the rest. */
  timeouts?: Partial<Timeouts>
  /** How long calls wait out a host that refuses connections once logged in (refused.ts). */
  refusedRideOutMs?: number
}

/** A logged-in XAPI session: the only object in the project that talks to xen-api. */
export interface XapiConnection {
  readonly url: string
  readonly sessionId: string
  /** The TLS trust every HTTP request to this host must use (uploads included). */
  readonly tls: TlsSettings
  /** The same limits for every HTTP request to this host (uploads included). */
  readonly timeouts: Timeouts
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
  /**
   * The pool as the login read it (xen-api's pool.get_all_records after
   * session.login_with_password, read again at every re-login): its ref and master, so a
   * run needs no second read of the pool right after logging in.
   */
  readonly pool: LoginPool
  close(): Promise<void>
}

export interface LoginPool {
  ref: string
  master: string
}

/** The URL the client is talking to now: the login may have been redirected to the pool master. */
function currentUrl(client: Xapi, fallback: string): string {
  const u = (client as unknown as { _url?: { protocol?: string; hostname?: string; port?: string } })._url
  if (!u?.hostname) return fallback
  const out = new URL(fallback)
  out.hostname = u.hostname
  return out.href
}

/** xen-api keeps the pool record its login read as `pool` (its $ref and fields). */
function loginPool(client: Xapi): LoginPool {
  const p = client.pool
  if (!p) throw new Error('internal: the login read no pool record')
  return { ref: p.$ref, master: p.master }
}

/** How long close() waits for the logout; the host drops an unused session on its own. */
const LOGOUT_WAIT_MS = 2_000

/** Logins joined by one call before its assertion error stands. */
const RELOGIN_JOINS = 3

function isReloginRace(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === 'ERR_ASSERTION' && (e as { operator?: unknown }).operator === 'notStrictEqual'
}

/** undici's own timeouts and our deadline, as the one error that says which host, what, and how long. */
function timeoutOf(e: unknown, host: string, method: string, args: readonly unknown[], t: Timeouts): HostTimeout | undefined {
  if (e instanceof DeadlineExceeded) return new HostTimeout(host, method, 'response', e.ms)
  const code = (e as { code?: unknown } | null)?.code
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new HostTimeout(host, method, 'connect', t.connectMs)
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new HostTimeout(host, method, 'response', callAllowanceMs(method, args, t))
  if (code === 'UND_ERR_BODY_TIMEOUT') return new HostTimeout(host, method, 'idle', t.idleMs)
  return undefined
}

function wrap(e: unknown, method: string): unknown {
  // SESSION_INVALID's parameter is the session ref itself: a secret, never put in a message.
  if (isXapiLike(e)) return new XapiError(e.code, e.code === 'SESSION_INVALID' ? [] : e.params.map(String), method)
  if (isReloginRace(e)) return new Error(`${method}: the session to the host was lost and logging in again failed; run the command again`)
  return e
}

export async function connect(opts: ConnectOptions): Promise<XapiConnection> {
  const tls: TlsSettings = opts.tls ?? { rejectUnauthorized: !opts.allowUnauthorized }
  const timeouts = withDefaults(opts.timeouts)
  const refusedRideOutMs = opts.refusedRideOutMs ?? REFUSED_RIDE_OUT_MS
  // Registered before the first byte goes out: whatever a host echoes back, the CLI's output hides it.
  registerSecret(opts.password)
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
  // Every request on the wire is timed, traced, and its login's session registered as a secret there.
  const transport = timeTransport(client, tls, timeouts)
  const host = (): string => new URL(currentUrl(client, opts.url)).host
  const fail = (e: unknown, method: string, args: readonly unknown[]): unknown => timeoutOf(e, host(), method, args, timeouts) ?? wrap(e, method)
  const callLog: string[] = ['session.login_with_password']
  let abortSignal: AbortSignal | undefined
  try {
    await client.connect()
  } catch (e) {
    await client.disconnect().catch(() => undefined)
    await transport.agent.destroy().catch(() => undefined)
    throw (await wrongScheme(opts.url, e)) ?? fail(e, 'session.login_with_password', [])
  }
  const conn: XapiConnection = {
    // After HOST_IS_SLAVE the client has moved to the master; uploads must follow it.
    get url() {
      return currentUrl(client, opts.url)
    },
    tls,
    timeouts,
    // A getter: the client logs in again after SESSION_INVALID (toolstack restart), and
    // HTTP transfers built after that must carry the new session, not the dead one.
    get sessionId() {
      return client.sessionId
    },
    callLog,
    // A getter: a re-login reads the pool again (a new master after a master change).
    get pool() {
      return loginPool(client)
    },
    async call<T>(method: string, ...args: unknown[]): Promise<T> {
      callLog.push(method)
      let joins = 0
      const refused = new RefusedWindow(refusedRideOutMs)
      for (;;) {
        try {
          return (await client.call(method, ...args)) as T
        } catch (e) {
          // xen-api 4.7.6 clears its session id while it logs in again after SESSION_INVALID,
          // and a call that starts meanwhile fails an assertion before anything is sent. Its
          // login is coalesced, so asking for one joins the login under way (or, if that one
          // failed, tries once more and throws why); then the call, which XAPI never saw, is
          // made again.
          if (isReloginRace(e) && joins++ < RELOGIN_JOINS) {
            try {
              await (client as unknown as { _sessionOpen(): Promise<void> })._sessionOpen()
            } catch (loginError) {
              if (await refused.wait(loginError)) continue
              throw fail(loginError, 'session.login_with_password', [])
            }
            continue
          }
          // The host refuses connections after it was answering: a toolstack restart (refused.ts).
          if (await refused.wait(e)) continue
          throw fail(e, method, args)
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
      // The client sends its logout without awaiting it: wait, so that it is made (and
      // traced) before the caller reports, a library user's process included.
      await transport.settled(LOGOUT_WAIT_MS)
    },
  }
  return conn
}
