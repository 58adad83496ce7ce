import { connect } from 'node:net'

/** One TCP connection attempt, closed at once: resolves whether it was accepted, and why not. */
export function tryConnect(host: string, port: number, timeoutMs: number): Promise<{ open: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs })
    const done = (r: { open: boolean; error?: string }): void => {
      s.destroy()
      resolve(r)
    }
    s.once('connect', () => done({ open: true }))
    s.once('timeout', () => done({ open: false, error: `no answer in ${timeoutMs} ms` }))
    s.once('error', (e: NodeJS.ErrnoException) => done({ open: false, error: e.code ?? e.message }))
  })
}
