import type { IncomingMessage } from 'node:http'

/** RPC bodies are small; a bound keeps a hostile client from filling memory. */
export const MAX_RPC_BODY = 16 * 1024 * 1024

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

export async function readBody(req: IncomingMessage, limit = MAX_RPC_BODY): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new BodyTooLargeError(`request body larger than ${limit} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
