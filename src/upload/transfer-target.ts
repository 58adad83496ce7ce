import got from 'got'
import type { XapiConnection } from '../xapi/connection.js'
import * as host from '../xapi/host.js'
import { gotHttpsOptions, type TlsSettings } from '../xapi/tls.js'

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
 * the master); an empty import on the right host writes nothing. undefined means "the
 * host the session talks to": a 200, or anything else, which the real PUT then meets
 * with its own error handling and retries.
 *
 * The Location carries the session id, so it is followed only to an address that is a
 * host of this pool; with a pinned certificate, that host's own certificate is pinned,
 * as the master reports it over the connection already trusted.
 */
export async function transferTarget(x: XapiConnection, vdi: string, signal?: AbortSignal): Promise<TransferTarget | undefined> {
  const url = new URL('/import_raw_vdi', x.url)
  url.search = new URLSearchParams({ session_id: x.sessionId, vdi, format: 'raw' }).toString()
  let res
  try {
    res = await got.put(url, {
      body: Buffer.alloc(0),
      https: gotHttpsOptions(x.tls),
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      timeout: { connect: 30_000, response: 60_000 },
      ...(signal ? { signal } : {}),
    })
  } catch {
    signal?.throwIfAborted()
    return undefined
  }
  if (res.statusCode !== 302 && res.statusCode !== 301 && res.statusCode !== 307) return undefined
  const location = res.headers.location
  if (!location) return undefined
  const to = new URL(location, url)
  const address = to.hostname.replace(/^\[|\]$/g, '')
  const hosts = await host.get_all_records(x)
  const match = Object.entries(hosts).find(([, h]) => h.address === address)
  if (!match) {
    throw new Error(
      `XAPI redirected the upload to ${to.host}, which is not the address of any host in this pool; the upload stops rather than send the session there. Check host.address of the pool's hosts.`,
    )
  }
  const [ref, rec] = match
  const tls: TlsSettings = x.tls.ca ? { rejectUnauthorized: true, ca: await host.get_server_certificate(x, ref), skipHostnameCheck: true } : x.tls
  return { origin: to.origin, tls, name: rec.name_label }
}

/** The URL of a raw transfer endpoint, on the target host or on the session's host. */
export function transferUrl(x: XapiConnection, target: TransferTarget | undefined, path: string, query: Record<string, string>): URL {
  const url = new URL(path, target?.origin ?? x.url)
  url.search = new URLSearchParams(query).toString()
  return url
}
