import type { Piece } from './virtual-disk.js'

export interface PieceIo {
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number
  /** A buffer of `size` bytes kept for the next call: slot 0 the compressed bytes, 1 the inflated cluster. */
  scratch(slot: 0 | 1, size: number): Buffer
  /**
   * Inflates one whole compressed cluster into `out`; returns the bytes written (out.length:
   * it may hold more than that). Throws zlib's error for a corrupt one (piece-io.ts).
   */
  inflate(kind: 'deflate' | 'zlib', src: Buffer, out: Buffer): number
}

/**
 * Fills `out` from `pieces` (which cover exactly out.length bytes): zeros, file bytes,
 * or inflated clusters. Self-contained (no imports, no outer names): it also runs inside
 * the map/hash workers as source text (map-window.ts). A short file read or a cluster
 * that inflates to the wrong size throws, naming the file offset.
 */
export function readPieces(io: PieceIo, fd: number, pieces: readonly Piece[], out: Buffer): void {
  let pos = 0
  for (const p of pieces) {
    const dst = out.subarray(pos, pos + p.length)
    if (p.kind === 'zero') dst.fill(0)
    else if (p.kind === 'file') {
      for (let done = 0; done < p.length; ) {
        const n = io.readSync(fd, dst, done, p.length - done, p.at + done)
        if (n === 0) throw new Error(`at byte ${p.at + done}: the file ends inside data its tables point to (truncated?)`)
        done += n
      }
    } else {
      // Unzeroed: only the `got` bytes read are used.
      const stored = io.scratch(0, p.stored)
      let got = 0
      while (got < p.stored) {
        const n = io.readSync(fd, stored, got, p.stored - got, p.at + got)
        if (n === 0) break
        got += n
      }
      // One byte more than the cluster: a cluster that would inflate past its size fills
      // it and stops there (a zip bomb costs nothing).
      const data = io.scratch(1, p.unit + 1)
      let n: number
      try {
        n = io.inflate(p.kind, stored.subarray(0, got), data)
      } catch (e) {
        throw new Error(`at byte ${p.at}: a compressed cluster does not inflate (${e instanceof Error ? e.message : String(e)})`)
      }
      if (n > p.unit) throw new Error(`at byte ${p.at}: a compressed cluster inflates to more than its ${p.unit} bytes`)
      // A cluster that inflates short reads as zeros after its end.
      const have = Math.max(0, Math.min(n, p.skip + p.length) - p.skip)
      if (have > 0) data.copy(dst, 0, p.skip, p.skip + have)
      if (have < p.length) dst.fill(0, have)
    }
    pos += p.length
  }
}

/**
 * The part of `pieces` (which start at `base`) covering [from, from+length). Self-contained
 * too, for the workers: they read a window's pieces in slices of their buffer's size.
 */
export function slicePieces(pieces: readonly Piece[], base: number, from: number, length: number): Piece[] {
  const out: Piece[] = []
  let pos = base
  for (const p of pieces) {
    const end = pos + p.length
    if (end > from && pos < from + length) {
      const cut = Math.max(0, from - pos)
      const n = Math.min(end, from + length) - Math.max(pos, from)
      if (p.kind === 'zero') out.push({ kind: 'zero', length: n })
      else if (p.kind === 'file') out.push({ kind: 'file', length: n, at: p.at + cut })
      else out.push({ ...p, length: n, skip: p.skip + cut })
    }
    pos = end
    if (pos >= from + length) break
  }
  return out
}
