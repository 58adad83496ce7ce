import type { Duplex } from 'node:stream'
import { Agent, type Dispatcher } from 'undici'
import type { TlsSettings } from './tls.js'
import { callAllowanceMs, type Timeouts } from './timeouts.js'
import { traceCall } from './call-trace.js'
import { registerSecret } from './secrets.js'

/** The whole answer did not arrive within the call's allowance; connection.ts names the host and call. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded'
  readonly code = 'XCP_DEADLINE'
  constructor(readonly ms: number) {
    super(`no complete answer within ${ms} ms`)
  }
}

/**
 * Ends one request when its whole answer has not arrived in time. undici's own limits
 * cannot: its headers timeout is a deadline only up to the status line, and its body
 * timeout restarts with every byte, so a host sending one byte a second never trips it.
 * Every handler method is passed on as it is (undici's DecoratorHandler is untyped).
 */
class DeadlineHandler implements Dispatcher.DispatchHandlers {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly inner: Dispatcher.DispatchHandlers,
    private readonly ms: number,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    // Called again when undici retries the request on another socket: one deadline for all tries.
    this.timer ??= setTimeout(() => abort(new DeadlineExceeded(this.ms)), this.ms)
    return this.inner.onConnect?.(abort)
  }
  onError(err: Error): void {
    clearTimeout(this.timer)
    return this.inner.onError?.(err)
  }
  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    return this.inner.onUpgrade?.(statusCode, headers, socket)
  }
  onResponseStarted(): void {
    return this.inner.onResponseStarted?.()
  }
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.inner.onHeaders?.(statusCode, headers, resume, statusText) ?? true
  }
  onData(chunk: Buffer): boolean {
    return this.inner.onData?.(chunk) ?? true
  }
  onComplete(trailers: string[] | null): void {
    clearTimeout(this.timer)
    return this.inner.onComplete?.(trailers)
  }
  onBodySent(chunkSize: number, totalBytesSent: number): void {
    return this.inner.onBodySent?.(chunkSize, totalBytesSent)
  }
}

/** One call's dispatcher: the shared agent, with this call's allowance and the idle limit. */
function withDeadline(agent: Dispatcher, ms: number, idleMs: number): Pick<Dispatcher, 'dispatch'> {
  return {
    // undici's headers timeout a little later than the deadline, so the deadline's clearer error wins.
    dispatch: (opts, handler) => agent.dispatch({ ...opts, headersTimeout: ms + 1000, bodyTimeout: idleMs }, new DeadlineHandler(handler, ms)),
  }
}

type Transport = (method: string, args: unknown[]) => Promise<unknown>

/** The private fields of xen-api 4.7.6 this reaches into; checked, so a new version fails loudly, not silently. */
interface XenApiInternals {
  _undiciDispatcher?: Dispatcher
  _url?: unknown
  _setUrl?: (url: unknown) => void
  _createTransport?: (o: { dispatcher: unknown; url: unknown }) => Transport
}

/** The transport of one client, as timeTransport() left it. */
export interface TimedTransport {
  /** The agent every request goes through (destroyed after a failed login). */
  readonly agent: Agent
  /**
   * Resolves once every request sent so far has ended, or after `ms`: the client does not
   * await its own logout, and close() waits for it (briefly: a host that no longer answers
   * lets the session expire on its own).
   */
  settled(ms: number): Promise<void>
}

/**
 * Puts connect, response and idle limits on every call the xen-api client makes, and
 * traces each one (call-trace.ts). xen-api 4.7.6 builds its undici Agent itself, from
 * rejectUnauthorized alone (no CA, no connect timeout), and its only per-call limit
 * (callTimeout) rejects the promise while the request goes on in the background. So this
 * replaces the agent (the TLS trust, pinned certificate included, and the connect
 * timeout) and wraps the transport factory, so that each call's request carries its own
 * allowance (callAllowanceMs: event.from's long-poll, slow storage calls) and is really
 * ended when it runs out. The transport is also the one place that sees every request on
 * the wire, the client's own included (the pool record and method list after each login,
 * re-logins, logout), each with its own duration: --verbose traces there. It reaches into
 * private fields of the pinned client version, so it lives here only.
 */
export function timeTransport(client: object, tls: TlsSettings, t: Timeouts): TimedTransport {
  const slot = client as unknown as XenApiInternals
  const createTransport = slot._createTransport
  if (!slot._undiciDispatcher || !slot._url || typeof slot._setUrl !== 'function' || typeof createTransport !== 'function') {
    throw new Error('xen-api internals changed: cannot set timeouts and TLS trust on its transport')
  }
  const agent = new Agent({
    connect: {
      timeout: t.connectMs,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {}),
    },
    headersTimeout: t.responseMs,
    bodyTimeout: t.idleMs,
  })
  const inFlight = new Set<Promise<unknown>>()
  slot._undiciDispatcher = agent
  slot._createTransport = ({ url }) => {
    return (method, args) => {
      const started = performance.now()
      const sent = createTransport({ dispatcher: withDeadline(agent, callAllowanceMs(method, args, t), t.idleMs), url })(method, args)
      const traced = sent.then(
        (result) => {
          // The new session is a secret before any trace line or message can carry it: the
          // client's own next call (the pool record) has it as its first argument.
          if (method === 'session.login_with_password' && typeof result === 'string') registerSecret(result)
          traceCall(method, args, started)
          return result
        },
        (e: unknown) => {
          traceCall(method, args, started, e)
          throw e
        },
      )
      inFlight.add(traced)
      const forget = (): void => void inFlight.delete(traced)
      traced.then(forget, forget)
      return traced
    }
  }
  // The transport captured the old agent when the client was built: rebuild it.
  slot._setUrl(slot._url)
  return {
    agent,
    async settled(ms) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
      await Promise.race([Promise.allSettled([...inFlight]), late])
      clearTimeout(timer)
    },
  }
}
