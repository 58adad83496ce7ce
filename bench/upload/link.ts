import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy in front of the simulator that carries client-to-host bytes at most at
 * `bytesPerSecond`, like the LAN between an admin's machine and an XCP-ng host. The
 * loopback simulator ingests ~700 MB/s, faster than any real import (vhd-tool through
 * tapdisk, or the link itself), so without a link the figures measure the client's
 * fixed costs more than the transfer; with one, they show the deployment's regime.
 * Host-to-client bytes (RPC answers) pass unthrottled.
 */
export interface Link {
  url: string
  close(): Promise<void>
}

export async function startLink(target: string, bytesPerSecond: number): Promise<Link> {
  const t = new URL(target)
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const host = connect(Number(t.port), t.hostname)
    for (const s of [client, host]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => (s === client ? host : client).destroy())
    }
    host.pipe(client)
    throttle(client, host, bytesPerSecond)
    client.on('end', () => host.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Token bucket on the wall clock: pauses the source while it is ahead of the rate or the sink is full. */
function throttle(from: Socket, to: Socket, rate: number): void {
  const start = performance.now()
  let sent = 0
  let until = 0
  // biome-ignore lint/correctness/noUnusedVariables: read by ??= below, so at most one timer is pending
  let timer: NodeJS.Timeout | undefined
  // Resumes once both the rate allows and the sink has room; whichever comes last does it.
  const maybeResume = (): void => {
    if (to.writableNeedDrain) return
    const ahead = until - performance.now()
    if (ahead <= 0) from.resume()
    else
      timer ??= setTimeout(() => {
        timer = undefined
        maybeResume()
      }, Math.ceil(ahead))
  }
  from.on('data', (chunk: Buffer) => {
    sent += chunk.length
    to.write(chunk)
    until = start + (sent / rate) * 1000
    if (until - performance.now() > 1 || to.writableNeedDrain) {
      from.pause()
      maybeResume()
    }
  })
  to.on('drain', maybeResume)
}
