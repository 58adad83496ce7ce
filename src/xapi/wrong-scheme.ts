import { connect as tlsConnect } from 'node:tls'
import { UserError } from '../errors.js'

/** How long the TLS probe of an http:// URL may take: it only runs after a failed login. */
const PROBE_MS = 3000

/** A TLS client reading a plain-HTTP answer: OpenSSL's words for "this is not TLS". */
const PLAIN_HTTP_ANSWER = /wrong version number|WRONG_VERSION_NUMBER|packet length too long|http request/i
/** A plain HTTP client talking to a TLS port: the server drops the connection without an answer. */
const CLOSED = /other side closed|socket hang up|ECONNRESET|UND_ERR_SOCKET/i

function handshakes(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80), rejectUnauthorized: false })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(PROBE_MS, () => done(false))
    socket.once('secureConnect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * A login that failed because the URL's scheme does not match the endpoint: https:// to a
 * plain-HTTP port (the TLS handshake reads an HTTP answer), or http:// to a TLS port (the
 * server closes the connection; a TLS handshake on the same port then succeeds). The
 * user's to fix, with the URL that works; undefined for any other failure.
 */
export async function wrongScheme(href: string, e: unknown): Promise<UserError | undefined> {
  const url = new URL(href)
  const text = `${e instanceof Error ? e.message : String(e)} ${String((e as { code?: unknown } | null)?.code ?? '')} ${e instanceof Error && e.cause instanceof Error ? e.cause.message : ''}`
  const other = (scheme: string): string => `${scheme}//${url.host}/`
  if (url.protocol === 'https:' && PLAIN_HTTP_ANSWER.test(text)) {
    return new UserError(
      {
        what: `${url.host} does not speak HTTPS`,
        why: 'the TLS handshake got a plain-HTTP answer: this port serves http://',
        fix: `use --host ${other('http:')} (or the host's HTTPS port, 443 for XAPI)`,
        code: 'wrong-scheme',
      },
      { cause: e },
    )
  }
  if (url.protocol === 'http:' && CLOSED.test(text) && (await handshakes(url))) {
    return new UserError(
      {
        what: `${url.host} speaks HTTPS, not HTTP`,
        why: 'the host closed the plain-HTTP request, and a TLS handshake on that port succeeds',
        fix: `use --host ${other('https:')}`,
        code: 'wrong-scheme',
      },
      { cause: e },
    )
  }
  return undefined
}
