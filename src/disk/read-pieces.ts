import type { Piece } from './virtual-disk.js'

export interface PieceIo {
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number
  inflateRawSync(b: Buffer, o: { maxOutputLength: number; chunkSize: number }): Buffer
  inflateSync(b: Buffer, o: { maxOutputLength: number; chunkSize: number }): Buffer
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
      const stored = Buffer.allocUnsafe(p.stored)
      let got = 0
      while (got < p.stored) {
        const n = io.readSync(fd, stored, got, p.stored - got, p.at + got)
        if (n === 0) break
        got += n
      }
      let data: Buffer
      // maxOutputLength: a cluster that would inflate past its size stops there (a zip bomb costs nothing).
      // chunkSize: the whole cluster in one output chunk, not 16 KiB ones concatenated after (a copy per cluster).
      const limit = { maxOutputLength: p.unit, chunkSize: Math.max(64, p.unit) }
      try {
        data = p.kind === 'deflate' ? io.inflateRawSync(stored.subarray(0, got), limit) : io.inflateSync(stored.subarray(0, got), limit)
      } catch (e) {
        throw new Error(`at byte ${p.at}: a compressed cluster does not inflate (${e instanceof Error ? e.message : String(e)})`)
      }
      if (data.length > p.unit) throw new Error(`at byte ${p.at}: a compressed cluster inflates to ${data.length} bytes, more than its ${p.unit}`)
      dst.fill(0)
      data.copy(dst, 0, p.skip, Math.min(data.length, p.skip + p.length))
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
