import type { JobFunctions, JobModules } from '../upload/find/map-window.js'
import type { Piece } from '../disk/virtual-disk.js'

/** A data region of the virtual disk; pieces: where a container image keeps it (src/disk), absent for raw. */
export interface HashRegion {
  offset: number
  length: number
  pieces?: Piece[]
}

/** Bytes hashed per step: 4 MiB of sha256 is ~4 ms of CPU, the longest the main thread is held when it hashes. */
export const HASH_SLICE = 4 * 1024 * 1024

export interface ImageHasher {
  /** Data regions, ascending and disjoint, after those given before. */
  add(regions: readonly HashRegion[]): void
  /** No region comes after those added: the hole up to the disk's end is hashed next. */
  end(): void
  /** Hashes at most HASH_SLICE bytes (a hole's zeros or a region's data); false when it waits for regions, or is done. */
  step(): boolean
  /** Bytes of the virtual disk hashed so far. */
  readonly pos: number
  /** The sha256 of the whole disk, once ended and stepped to its end; closes the file. */
  digest(): string
  close(): void
}

/**
 * sha256 of a whole virtual disk of `size` bytes, as `sha256sum` of the raw disk prints it,
 * in bounded steps: data regions are read from `path` (through their pieces for a
 * container), the holes between them are hashed from a zero buffer. One step is one
 * slice, so the caller decides where to pause: a worker runs it flat out, the main
 * thread yields between steps (image-hash-run.ts).
 *
 * Self-contained (no imports, no outer names): it also runs inside a worker as source
 * text, as map-window.ts's jobs do, with the same Node modules and piece readers passed in.
 */
export function imageHasher(m: JobModules, f: Pick<JobFunctions, 'read' | 'slice' | 'ioOf'>, path: string, size: number, slice: number): ImageHasher {
  const fd = m.fs.openSync(path, 'r')
  const h = m.crypto.createHash('sha256')
  const buf = Buffer.allocUnsafe(slice)
  const zeros = Buffer.alloc(slice)
  const pieceIo = f.ioOf(m.fs, m.zlib)
  let queue: HashRegion[] = []
  let next = 0
  let pos = 0
  let ended = false
  let closed = false
  const close = (): void => {
    if (!closed) m.fs.closeSync(fd)
    closed = true
  }
  return {
    add(regions) {
      if (next === queue.length) {
        queue = []
        next = 0
      }
      for (const r of regions) queue.push(r)
    },
    end() {
      ended = true
    },
    step() {
      const r = queue[next]
      // The hole before the next region, or after the last one.
      const holeEnd = r ? r.offset : ended ? size : pos
      if (holeEnd < pos) throw new Error(`region at byte ${holeEnd} is before byte ${pos}: regions must be ascending and disjoint`)
      if (holeEnd > pos) {
        const n = Math.min(slice, holeEnd - pos)
        h.update(zeros.subarray(0, n))
        pos += n
        return true
      }
      if (!r) return false
      const n = Math.min(slice, r.offset + r.length - pos)
      const out = buf.subarray(0, n)
      if (r.pieces) f.read(pieceIo, fd, f.slice(r.pieces, r.offset, pos, n), out)
      else {
        for (let done = 0; done < n; ) {
          const got = m.fs.readSync(fd, out, done, n - done, pos + done)
          if (got === 0) throw new Error(`the image shrank while it was being hashed (short read at byte ${pos + done})`)
          done += got
        }
      }
      h.update(out)
      pos += n
      if (pos === r.offset + r.length) next++
      return true
    },
    get pos() {
      return pos
    },
    digest() {
      close()
      if (!ended || pos !== size || next !== queue.length) throw new Error(`hashed ${pos} of ${size} bytes: the hash is not complete`)
      return h.digest('hex')
    },
    close,
  }
}
