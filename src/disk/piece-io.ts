import type { PieceIo } from './read-pieces.js'

/** The parts of a zlib stream object used to inflate without allocating (Node's own, not public). */
interface Engine {
  _handle: { writeSync(flush: number, src: Buffer, srcAt: number, srcLen: number, out: Buffer, outAt: number, outLen: number): void; reset(): void } | null
  _writeState: Uint32Array
  errored: Error | null
  on(event: 'error', fn: (e: Error) => void): unknown
}

/**
 * The reads and inflation behind readPieces, one per thread: the compressed bytes and
 * the inflated cluster land in two buffers reused from cluster to cluster, and one zlib
 * stream per kind is reset, not made anew. zlib.inflateSync makes a new stream, a
 * 64 KiB output buffer (two when the output fills it) and a Transform object per call:
 * for a stream-optimized VMDK that is ~200 KiB of garbage per 64 KiB grain, in the main
 * thread and the hash workers at once, and peak RSS 250 MiB for 1 GiB of grains
 * (docs/upload.md, "Published formats"). Uses the stream's native handle (Node's
 * `_handle.writeSync`, what inflateSync itself calls); where a Node lacks it, falls
 * back to inflateSync. Self-contained (no imports, no outer names): it also runs inside
 * the map/hash workers as source text (map-window.ts).
 */
export function pieceIoOf(fs: typeof import('node:fs'), zlib: typeof import('node:zlib')): PieceIo {
  const buffers: Buffer[] = []
  const scratch = (slot: number, size: number): Buffer => {
    let b = buffers[slot]
    if (!b || b.length < size) buffers[slot] = b = Buffer.allocUnsafe(Math.max(size, 64 * 1024))
    return b.subarray(0, size)
  }
  const engines = new Map<string, Engine>()
  let internals = true
  const engine = (kind: 'deflate' | 'zlib'): Engine | undefined => {
    if (!internals) return undefined
    let e = engines.get(kind)
    if (e?._handle) {
      e._handle.reset()
      return e
    }
    e = (kind === 'deflate' ? zlib.createInflateRaw() : zlib.createInflate()) as unknown as Engine
    if (typeof e._handle?.writeSync !== 'function' || !(e._writeState instanceof Uint32Array)) {
      internals = false // checked once per thread, not per cluster
      return undefined
    }
    e.on('error', () => undefined) // a bad cluster: read from `errored` below, not an uncaught event
    engines.set(kind, e)
    return e
  }
  return {
    readSync: fs.readSync,
    scratch,
    inflate: (kind, src, out) => {
      const e = engine(kind)
      if (!e) {
        const o = { maxOutputLength: out.length, chunkSize: Math.max(64, out.length) }
        try {
          return (kind === 'deflate' ? zlib.inflateRawSync(src, o) : zlib.inflateSync(src, o)).copy(out)
        } catch (err) {
          // More than out.length: the caller's "it inflates past its size".
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return out.length
          throw err
        }
      }
      e._handle!.writeSync(zlib.constants.Z_FINISH, src, 0, src.length, out, 0, out.length)
      // A zlib error destroys the stream (and closes its handle): the next cluster gets a new one.
      if (e.errored) throw e.errored
      return out.length - e._writeState[0]!
    },
  }
}
