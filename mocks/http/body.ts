import type { IncomingMessage } from 'node:http'

/**
 * Bounds on what a client may make the simulator hold, and for how long. The defaults
 * are xapi's: an RPC body is at most Constants.http_limit_max_rpc_size (300 KiB, checked
 * against Content-Length before a byte is read, api_server.ml), and headers must arrive
 * within header_total_timeout_tcp (60 s, xapi_globs.ml). xapi reads an RPC body with no
 * deadline of its own; the simulator bounds it too (10 s idle, 60 s in all), because a
 * trickled body otherwise holds its buffers forever. An upload may be large and slow,
 * so it is bounded only by silence.
 */
export interface HttpLimits {
  maxRpcBody: number
  headersMs: number
  bodyIdleMs: number
  bodyTotalMs: number
  uploadIdleMs: number
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxRpcBody: 300 * 1024,
  headersMs: 60_000,
  bodyIdleMs: 10_000,
  bodyTotalMs: 60_000,
  uploadIdleMs: 60_000,
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

export class BodyTimeoutError extends Error {
  override name = 'BodyTimeoutError'
}

/**
 * The whole body, or an error once it passes `limit` bytes or is too slow. A declared
 * Content-Length over the limit is refused before reading (as xapi's Http_svr.read_body
 * does); a chunked body is counted as it comes.
 */
export async function readBody(req: IncomingMessage, limits: Pick<HttpLimits, 'maxRpcBody' | 'bodyIdleMs' | 'bodyTotalMs'> = DEFAULT_HTTP_LIMITS): Promise<Buffer> {
  const limit = limits.maxRpcBody
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new BodyTooLargeError(`Http_svr.Client_requested_size_over_limit: ${declared} bytes declared, ${limit} allowed`)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const fail = (e: Error): void => {
      cleanup()
      // Nothing more of this body is wanted: the buffers go now, not when the client stops.
      chunks.length = 0
      req.pause()
      reject(e)
    }
    const total = setTimeout(() => fail(new BodyTimeoutError(`request body not received within ${limits.bodyTotalMs} ms`)), limits.bodyTotalMs)
    const idle = setTimeout(() => fail(new BodyTimeoutError(`no request body bytes for ${limits.bodyIdleMs} ms`)), limits.bodyIdleMs)
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) return fail(new BodyTooLargeError(`Http_svr.Client_requested_size_over_limit: over ${limit} bytes`))
      chunks.push(chunk)
      idle.refresh()
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks))
    }
    const onError = (e: Error): void => fail(e)
    const onClose = (): void => {
      if (!req.complete) fail(new BodyTimeoutError('the client closed the connection before the body ended'))
    }
    function cleanup(): void {
      clearTimeout(total)
      clearTimeout(idle)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/**
 * Cuts a connection that sends nothing for `ms`: an upload's handler then sees the body
 * end early, as with any network failure, and fails its task.
 */
export function cutWhenIdle(req: IncomingMessage, ms: number): void {
  req.socket.setTimeout(ms, () => req.socket.destroy())
  req.once('end', () => req.socket.setTimeout(0))
}
