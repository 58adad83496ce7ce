import type * as Got from 'got'
import type { Readable } from 'node:stream'
import type { XapiConnection } from './connection.js'
import { gotHttpsOptions, type TlsSettings } from './tls.js'
import { gotTimeouts, HostTimeout, phaseOfGotEvent, type Timeouts } from './timeouts.js'
import { redact } from './secrets.js'

/**
 * XAPI's raw VDI endpoints (PUT /import_raw_vdi, GET /export_raw_vdi) as every caller
 * uses them: the upload, its redirect probe, --verify and convert's reads. One got
 * configuration here, normalised once (got's own idea, the style's anchor): the
 * connection's TLS trust and its three limits, no got retries (retries are the
 * caller's, with its own predicate), and no redirect followed by got, because a
 * Location carries the session id and is followed only to a host of the pool
 * (transfer-target.ts).
 */

/** A pool host that serves a VDI's raw transfers instead of the one the session talks to. */
export interface TransferTarget {
  /** scheme://host:port of that host, from XAPI's Location. */
  origin: string
  /** How its certificate is trusted. */
  tls: TlsSettings
  /** The host's name_label, for messages. */
  name: string
}

let loading: Promise<typeof Got> | undefined

/**
 * got and its dependencies, loaded at the first transfer rather than when the CLI starts:
 * their top level is ~20 ms that would come before a provision's first XAPI request
 * (docs/design.md, "Start-up").
 */
export const loadGot = (): Promise<typeof Got> => (loading ??= import('got'))

const REDIRECTS = new Set([301, 302, 307])

/** What a PUT or GET answered with a redirect: the target is stale, ask again. */
export const isRedirect = (status: number | undefined): boolean => status !== undefined && REDIRECTS.has(status)

/** The URL of a raw transfer endpoint on the target host or the session's host, with the session in it. */
export function transferUrl(x: XapiConnection, target: Pick<TransferTarget, 'origin'> | undefined, path: string, query: Record<string, string>): URL {
  const url = new URL(path, target?.origin ?? x.url)
  url.search = new URLSearchParams({ session_id: x.sessionId, ...query }).toString()
  return url
}

/** got's options for one transfer; the caller adds its body and headers. */
export function transferOptions(x: XapiConnection, target: Pick<TransferTarget, 'tls'> | undefined, signal?: AbortSignal) {
  return {
    https: gotHttpsOptions(target?.tls ?? x.tls),
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    timeout: gotTimeouts(x.timeouts),
    ...(signal ? { signal } : {}),
  } as const
}

export interface OpenTransfer {
  /** The response body (empty for the probe); destroy it to cut the connection. */
  stream: Readable
  status: number
  headers: Record<string, string | string[] | undefined>
}

/**
 * Sends a bodiless request and resolves once the status line is in; the body is left
 * unread for the caller. A failure before that is thrown as transferError() says it.
 */
export async function openTransfer(x: XapiConnection, target: TransferTarget | undefined, method: 'GET' | 'PUT', url: URL, doing: string, signal?: AbortSignal): Promise<OpenTransfer> {
  const { default: got, RequestError } = await loadGot()
  const stream = method === 'PUT' ? got.stream.put(url, { ...transferOptions(x, target, signal), headers: { 'content-length': '0' } }) : got.stream(url, transferOptions(x, target, signal))
  try {
    const res = await new Promise<{ statusCode: number; headers: OpenTransfer['headers'] }>((resolve, reject) => {
      stream.once('response', resolve)
      stream.once('error', reject)
      if (method === 'PUT') stream.end()
    })
    return { stream, status: res.statusCode, headers: res.headers }
  } catch (e) {
    stream.destroy()
    throw e instanceof RequestError ? transferError(e, url, doing, x.timeouts) : e
  }
}

/**
 * A failed transfer as an Error that names what was done, with got's code kept. Not its
 * cause: got's error holds the request's options, URL and session included.
 */
export function transferError(e: Got.RequestError, url: URL, doing: string, t: Timeouts): Error {
  return Object.assign(new Error(`${doing}: ${e.code}: ${transferErrorText(e, url, doing, t)}`), { code: e.code })
}

/**
 * What a failed raw transfer says about itself, safe to show: a timeout names the host,
 * the phase and the limit as every other network wait does; anything else is got's
 * message through redact() (secrets.ts), the one place session ids are hidden.
 */
export function transferErrorText(e: Got.RequestError, url: URL, doing: string, t: Timeouts): string {
  const event = (e as { event?: unknown }).event
  if (e.name === 'TimeoutError' && typeof event === 'string') {
    const phase = phaseOfGotEvent(event)
    const ms = phase === 'connect' ? t.connectMs : phase === 'idle' ? t.idleMs : t.responseMs
    return new HostTimeout(url.host, doing, phase, ms).message
  }
  return redact(e.message)
}
