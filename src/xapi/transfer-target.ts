import { loadGot } from './load-got.js'
import type { XapiConnection } from '../xapi/connection.js'
import * as host from '../xapi/host.js'
import { gotHttpsOptions, type TlsSettings } from '../xapi/tls.js'
import { gotTimeouts } from '../xapi/timeouts.js'

/** A pool host that serves a VDI's raw transfers instead of the one the session talks to. */
export interface TransferTarget {
  /** scheme://host:port of that host, from XAPI's Location. */
  origin: string
  /** How its certificate is trusted. */
  tls: TlsSettings
  /** The host's name_label, for messages. */
  name: string
}

/**
 * Asks XAPI where this VDI's raw transfers go, as xe and xen-api's putResource do: an
 * empty PUT /import_raw_vdi without a task. XAPI answers 302 with a Location when the
 * VDI's SR is not plugged on the host that was asked (a member's Local storage through
 * the master); an empty import on the right host writes nothing. Returns the target on
 * a redirect, null on a 200 (the session's host serves it), and undefined when the
 * probe could not tell (an error, a 401 after a toolstack restart…): the caller then
 * sends to the session's host and asks again before its next attempt.
 *
 * The Location carries the session id, so it is followed only to an address that is a
 * host of this pool, never from https down to http; with a pinned certificate, that
 * host's own certificate is pinned, as the master reports it over the connection
 * already trusted.
 */
export async function transferTarget(x: XapiConnection, vdi: string, signal?: AbortSignal): Promise<TransferTarget | null | undefined> {
  const { default: got } = await loadGot()
  const url = new URL('/import_raw_vdi', x.url)
  url.search = new URLSearchParams({ session_id: x.sessionId, vdi, format: 'raw' }).toString()
  let status: number
  let location: string | undefined
  try {
    // Only the status line matters: on the right host XAPI ends the body once the VDI is
    // detached again, which need not be waited for.
    const req = got.stream.put(url, {
      headers: { 'content-length': '0' },
      https: gotHttpsOptions(x.tls),
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      timeout: gotTimeouts(x.timeouts),
      ...(signal ? { signal } : {}),
    })
    const res = await new Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      req.once('response', resolve)
      req.once('error', reject)
      req.end()
    })
    req.destroy()
    status = res.statusCode
    location = typeof res.headers.location === 'string' ? res.headers.location : undefined
  } catch {
    signal?.throwIfAborted()
    return undefined
  }
  if (status === 200) return null
  if (!REDIRECTS.has(status) || !location) return undefined
  return followable(x, url, location)
}

const REDIRECTS = new Set([301, 302, 307])

/** The pool host a Location names, with how to trust it; throws for anything else. */
async function followable(x: XapiConnection, from: URL, location: string): Promise<TransferTarget> {
  const to = new URL(location, from)
  if (from.protocol === 'https:' && to.protocol !== 'https:') {
    throw new Error(`XAPI redirected the upload from https to ${to.protocol}//${to.host}; the upload stops rather than send the session and the disk unencrypted`)
  }
  const address = hostOf(to.hostname)
  const hosts = await host.get_all_records(x)
  const match = Object.entries(hosts).find(([, h]) => hostOf(h.address) === address)
  if (!match) {
    throw new Error(
      `XAPI redirected the upload to ${to.host}, which is not the address of any host in this pool; the upload stops rather than send the session there. Check host.address of the pool's hosts.`,
    )
  }
  const [ref, rec] = match
  const tls: TlsSettings = x.tls.ca ? { rejectUnauthorized: true, ca: await host.get_server_certificate(x, ref), skipHostnameCheck: true } : x.tls
  return { origin: to.origin, tls, name: rec.name_label }
}

/** One spelling per address: URL parsing shortens IPv6 addresses, host.address may not be. */
function hostOf(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '')
  try {
    return new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '').toLowerCase()
  } catch {
    return bare.toLowerCase()
  }
}

/** What a PUT or GET answered with a redirect: the target is stale, ask again. */
export const isRedirect = (status: number | undefined): boolean => status !== undefined && REDIRECTS.has(status)

/** The URL of a raw transfer endpoint, on the target host or on the session's host. */
export function transferUrl(x: XapiConnection, target: TransferTarget | undefined, path: string, query: Record<string, string>): URL {
  const url = new URL(path, target?.origin ?? x.url)
  url.search = new URLSearchParams(query).toString()
  return url
}
