import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls'
import { isIP } from 'node:net'
import { UserError, EXIT } from '../errors.js'
import { DEFAULT_TIMEOUTS, HostTimeout } from './timeouts.js'

/**
 * How a host's certificate is trusted: the system CAs (default), a pinned sha256
 * fingerprint (XCP-ng's self-signed certificate), or not at all (--insecure).
 */
export type TlsPolicy = { kind: 'verify' } | { kind: 'pinned'; fingerprint: string } | { kind: 'insecure' }

/** What the HTTP layers are given: a pinned certificate becomes the only CA they accept. */
export interface TlsSettings {
  rejectUnauthorized: boolean
  ca?: string
  /** Pinned certificates are trusted by identity, not by the name they were issued to. */
  skipHostnameCheck?: boolean
}

/** "sha256:AB:CD…", "AB:CD…" or plain hex -> "AB:CD:…" as Node prints fingerprint256. */
export function parseFingerprint(input: string): string {
  const hex = input
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new UserError({
      what: `--fingerprint "${input}" is not a sha256 fingerprint`,
      why: 'it must be 64 hex digits, optionally with colons and a sha256: prefix',
      fix: 'print it on the host with: openssl x509 -in /etc/xensource/xapi-ssl.pem -noout -fingerprint -sha256',
      exitCode: EXIT.usage,
    })
  }
  return hex.match(/../g)!.join(':')
}

function toPem(cert: DetailedPeerCertificate): string {
  const b64 = cert.raw
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`
}

/** Reads the server's certificate without sending anything over the connection. */
export function fetchDetailedPeerCertificate(url: string, timeoutMs = DEFAULT_TIMEOUTS.connectMs): Promise<DetailedPeerCertificate> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    // SNI takes names only: an IP address as servername is refused by RFC 6066.
    const sni = isIP(u.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: u.hostname }
    const socket = tlsConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443), ...sni, rejectUnauthorized: false })
    socket.setTimeout(timeoutMs, () => socket.destroy(new HostTimeout(u.host, 'reading its certificate for --fingerprint', 'connect', timeoutMs)))
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true)
      socket.destroy()
      resolve(cert)
    })
    socket.once('error', reject)
  })
}

/**
 * Turns a policy into settings. For a pin, the certificate is fetched once, compared
 * with the fingerprint, and then used as the only trusted CA for every later
 * connection, so a different certificate on any later connection fails the handshake.
 */
export async function resolveTls(url: string, policy: TlsPolicy, connectMs?: number): Promise<TlsSettings> {
  if (policy.kind === 'insecure') return { rejectUnauthorized: false }
  if (policy.kind === 'verify' || new URL(url).protocol !== 'https:') return { rejectUnauthorized: true }
  const cert = await fetchDetailedPeerCertificate(url, connectMs)
  const want = parseFingerprint(policy.fingerprint)
  if (cert.fingerprint256 !== want) {
    throw new UserError({
      code: 'tls',
      what: `The certificate of ${new URL(url).host} does not match --fingerprint`,
      why: `the host presented sha256 ${cert.fingerprint256}, expected ${want}`,
      fix: 'check the fingerprint on the host; if the certificate changed on purpose, pin the new one. Otherwise someone may be intercepting the connection.',
    })
  }
  if (cert.issuerCertificate && cert.issuerCertificate.fingerprint256 !== cert.fingerprint256) {
    throw new UserError({
      code: 'tls',
      what: `${new URL(url).host} has a CA-issued certificate`,
      why: 'pinning is for self-signed certificates such as XCP-ng installs by default',
      fix: 'drop --fingerprint and trust the issuing CA instead (NODE_EXTRA_CA_CERTS)',
    })
  }
  return { rejectUnauthorized: true, ca: toPem(cert), skipHostnameCheck: true }
}

/** The same trust for got (uploads, exports) as for the RPC connection. */
export function gotHttpsOptions(tls: TlsSettings): { rejectUnauthorized: boolean; certificateAuthority?: string; checkServerIdentity?: () => undefined } {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca ? { certificateAuthority: tls.ca } : {}),
    ...(tls.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {}),
  }
}
