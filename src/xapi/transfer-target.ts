import type { XapiConnection } from './connection.js'
import * as host from './host.js'
import type { TlsSettings } from './tls.js'
import { isRedirect, openTransfer, transferUrl, type TransferTarget } from './raw-transfer.js'

export type { TransferTarget } from './raw-transfer.js'

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
  const url = transferUrl(x, undefined, '/import_raw_vdi', { vdi, format: 'raw' })
  let status: number
  let location: string | undefined
  try {
    // Only the status line matters: on the right host XAPI ends the body once the VDI is
    // detached again, which need not be waited for.
    const res = await openTransfer(x, undefined, 'PUT', url, 'PUT /import_raw_vdi (where to send)', signal)
    res.stream.destroy()
    status = res.status
    location = typeof res.headers.location === 'string' ? res.headers.location : undefined
  } catch {
    signal?.throwIfAborted()
    return undefined
  }
  if (status === 200) return null
  if (!isRedirect(status) || !location) return undefined
  return followable(x, url, location)
}

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
