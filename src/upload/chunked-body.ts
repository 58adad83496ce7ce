import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { CHUNK_TERMINATOR, encodeChunkHeader, framedLength } from '../image/chunk-framing.js'
import type { DataMap } from './data-map.js'

const READ_SIZE = 1024 * 1024

/** Content-Length of the framed body: XAPI refuses Transfer-Encoding, so it must be known up front. */
export const bodyLength = (map: DataMap): number => framedLength(map.regions)

/**
 * The request body in XAPI's chunked framing, read from the file region by region with
 * one reusable-size buffer, so memory does not grow with the image.
 */
export function chunkedBody(path: string, map: DataMap, onBytes: (n: number) => void = () => undefined): Readable {
  async function* frames(): AsyncGenerator<Buffer> {
    const fh = await open(path, 'r')
    try {
      for (const r of map.regions) {
        yield encodeChunkHeader(r.offset, r.length)
        for (let done = 0; done < r.length; ) {
          const want = Math.min(READ_SIZE, r.length - done)
          const buf = Buffer.allocUnsafe(want)
          const { bytesRead } = await fh.read(buf, 0, want, r.offset + done)
          if (bytesRead !== want) throw new Error(`image ${path} shrank while it was being uploaded (short read at ${r.offset + done})`)
          done += want
          onBytes(want)
          yield buf
        }
      }
      yield CHUNK_TERMINATOR
    } finally {
      await fh.close()
    }
  }
  return Readable.from(frames(), { objectMode: false })
}
