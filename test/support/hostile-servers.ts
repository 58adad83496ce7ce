import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net'

/**
 * Real sockets that misbehave the way broken hosts do: one that takes connections and
 * never answers, one that answers one byte at a time, and a front that can stop
 * listening (connections refused) and listen again on the same port, as a toolstack
 * restart does. Each is closed by its close(), connections included.
 */
export interface TestServer {
  url: string
  port: number
  /** Connections accepted so far. */
  accepted(): number
  close(): Promise<void>
}

function serve(handler: (socket: Socket) => void, port = 0): Promise<{ server: Server; sockets: Set<Socket>; port: number; accepted: () => number }> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    handler(socket)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve({ server, sockets, port: (server.address() as AddressInfo).port, accepted: () => accepted }))
  })
}

function closer(server: Server, sockets: Set<Socket>, timers: NodeJS.Timeout[] = []): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const t of timers) clearInterval(t)
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
}

/** Accepts every connection and reads what comes, but never sends a byte. */
export async function silentServer(): Promise<TestServer> {
  const s = await serve((socket) => socket.resume())
  return { url: `http://127.0.0.1:${s.port}/`, port: s.port, accepted: s.accepted, close: closer(s.server, s.sockets) }
}

/**
 * Answers every request with a well-formed HTTP response, one byte every `intervalMs`,
 * forever: the status line and headers first (`phase: 'headers'`), or the headers at
 * once and then the body a byte at a time (`phase: 'body'`).
 */
export async function tricklingServer(opts: { intervalMs: number; phase: 'headers' | 'body' }): Promise<TestServer & { bytesSent(): number }> {
  const timers: NodeJS.Timeout[] = []
  let sent = 0
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n'
  const body = '<?xml version="1.0"?><methodResponse><params><param><value><struct>'.padEnd(100000, ' ')
  const s = await serve((socket) => {
    socket.resume()
    let started = false
    socket.once('data', () => {
      if (started) return
      started = true
      let text = opts.phase === 'headers' ? head + body : body
      if (opts.phase === 'body') socket.write(head)
      const t = setInterval(() => {
        if (!text.length || socket.destroyed) return clearInterval(t)
        socket.write(text[0]!)
        sent++
        text = text.slice(1)
      }, opts.intervalMs)
      timers.push(t)
    })
  })
  return { url: `http://127.0.0.1:${s.port}/`, port: s.port, accepted: s.accepted, bytesSent: () => sent, close: closer(s.server, s.sockets, timers) }
}

/**
 * A TCP front for `targetUrl` that can stop listening (new connections are refused,
 * open ones are cut) and start again on the same port: what a client sees while
 * xe-toolstack-restart runs on the host. freeze() makes it a black hole instead: every
 * connection, open or new, stays open and carries nothing more (a hung host, a dead link).
 */
export async function switchableFront(targetUrl: string): Promise<TestServer & { stop(): Promise<void>; start(): Promise<void>; refusing(): boolean; freeze(): void }> {
  const target = new URL(targetUrl)
  let frozen = false
  const pairs = new Set<[Socket, Socket]>()
  const pipe = (socket: Socket): void => {
    if (frozen) return void socket.pause()
    const upstream = connect(Number(target.port), target.hostname)
    s.sockets.add(upstream)
    upstream.on('close', () => s.sockets.delete(upstream))
    socket.pipe(upstream).pipe(socket)
    const pair: [Socket, Socket] = [socket, upstream]
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      // A black hole passes nothing on, not even a close (the simulator's keep-alive timeout).
      if (frozen) return
      socket.destroy()
      upstream.destroy()
    }
    socket.on('close', end)
    upstream.on('close', end)
    upstream.on('error', end)
  }
  let s = await serve(pipe)
  const port = s.port
  let total = 0
  let down = false
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    accepted: () => total + s.accepted(),
    refusing: () => down,
    freeze: () => {
      frozen = true
      for (const [a, b] of pairs) {
        a.unpipe(b)
        b.unpipe(a)
        a.pause()
        b.pause()
      }
    },
    stop: async () => {
      total += s.accepted()
      down = true
      await closer(s.server, s.sockets)()
    },
    start: async () => {
      // The port was free while the front was down: another process's outgoing connection
      // may hold it as its local port for a moment (EADDRINUSE). Try again for up to 5 s.
      for (let tries = 0; ; tries++) {
        try {
          s = await serve(pipe, port)
          break
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 100) throw e
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      down = false
    },
    close: async () => {
      if (!down) await closer(s.server, s.sockets)()
    },
  }
}
