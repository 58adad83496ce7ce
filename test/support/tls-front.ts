import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:tls'
import { connect } from 'node:net'
import { X509Certificate } from 'node:crypto'
import type { AddressInfo } from 'node:net'

export interface SelfSigned {
  key: string
  cert: string
  /** "AB:CD:…" as Node and openssl print it. */
  fingerprint256: string
}

/** A throw-away self-signed certificate, like the one an XCP-ng install makes for itself. */
export async function selfSigned(cn = 'xcp1'): Promise<SelfSigned> {
  const dir = await mkdtemp(join(tmpdir(), 'cert-'))
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
  const key = await readFile(join(dir, 'key.pem'), 'utf8')
  const cert = await readFile(join(dir, 'cert.pem'), 'utf8')
  return { key, cert, fingerprint256: new X509Certificate(cert).fingerprint256 }
}

/** Serves an http:// simulator over HTTPS, as XAPI listens on 443 with its own certificate. */
export function tlsFront(targetUrl: string, cert: SelfSigned): Promise<{ url: string; handshakes: () => number; close: () => Promise<void> }> {
  const target = new URL(targetUrl)
  let handshakes = 0
  const server: Server = createServer({ key: cert.key, cert: cert.cert }, (socket) => {
    handshakes++
    const upstream = connect(Number(target.port), target.hostname)
    socket.pipe(upstream).pipe(socket)
    const end = (): void => {
      socket.destroy()
      upstream.destroy()
    }
    socket.on('error', end)
    upstream.on('error', end)
    socket.on('close', end)
    upstream.on('close', end)
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `https://127.0.0.1:${port}/`,
        handshakes: () => handshakes,
        close: () => new Promise((r) => server.close(() => r())),
      })
    })
  })
}
