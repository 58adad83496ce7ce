import { connect } from 'node:net'

export interface RawExchange {
  /** The status of the first response line, 0 when none came. */
  status: number
  /** Everything the server sent. */
  text: string
  /** How long until the server closed the connection (or the guard below gave up). */
  ms: number
  /** False when the server kept the socket open past `waitMs`. */
  closed: boolean
}

/**
 * Bytes written on a plain TCP socket, unlike any HTTP client would: a request line no
 * client library can produce, a body trickled out in pieces, or one that never ends.
 * `pieces` go out one by one, `gapMs` apart; the socket is half-closed after them unless
 * `keepOpen`. Resolves when the server closes, or after `waitMs` without a close.
 */
export function rawHttp(url: string, pieces: (string | Buffer)[], opts: { gapMs?: number; waitMs?: number; keepOpen?: boolean } = {}): Promise<RawExchange> {
  const { hostname, port } = new URL(url)
  const started = Date.now()
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    let settled = false
    const finish = (closed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(guard)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]
      resolve({ status: status ? Number(status) : 0, text, ms: Date.now() - started, closed })
    }
    const guard = setTimeout(() => finish(false), opts.waitMs ?? 5000)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('close', () => finish(true))
    socket.on('error', () => finish(true))
    socket.on('connect', async () => {
      for (const [i, p] of pieces.entries()) {
        if (socket.destroyed) return
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs))
        if (!socket.destroyed) socket.write(p)
      }
      if (!opts.keepOpen && !socket.destroyed) socket.end()
    })
  })
}
