import * as fs from 'node:fs'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import * as zlib from 'node:zlib'
import { pieceIoOf } from './piece-io.js'
import { readPieces, type PieceIo } from './read-pieces.js'
import { DiskFormatError, type DiskFormat, type Extent, type Piece, type VirtualDisk } from './virtual-disk.js'

/** The main thread's: one set of reused buffers and zlib streams for every image read here. */
export const pieceIo: PieceIo = pieceIoOf(fs, zlib)

/** An open container file: exact reads of its metadata, each failure naming the offset. */
export class ContainerFile {
  /** The file's size; for a spool still being written, the size it will have (growing-disk.ts). */
  readonly size: number
  constructor(
    readonly path: string,
    readonly fd: number,
    size?: number,
  ) {
    this.size = size ?? fstatSync(fd).size
  }

  static open(path: string): ContainerFile {
    return new ContainerFile(path, openSync(path, 'r'))
  }

  /** Exactly `length` bytes at `offset`, or a DiskFormatError saying the file ends first. */
  read(offset: number, length: number, what: string): Buffer {
    if (offset + length > this.size) this.fail(offset, `${what} (${length} bytes) lies past the end of the file (${this.size} bytes): the file is truncated or the table is corrupt`)
    const buf = Buffer.alloc(length)
    for (let done = 0; done < length; ) {
      const n = readSync(this.fd, buf, done, length - done, offset + done)
      if (n === 0) this.fail(offset + done, `the file ended while reading ${what}`)
      done += n
    }
    return buf
  }

  /**
   * Called by the readers before they hand out a range of the file as data (a cluster, a
   * block, a grain): nothing to check in a whole file; a spool still being written
   * (growing-disk.ts) throws until xz has written the range.
   */
  ensure(_offset: number, _length: number): void {}

  fail(offset: number, problem: string, fix?: string): never {
    throw new DiskFormatError(this.path, offset, problem, fix)
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** What a format reader provides; diskOf() adds readAt and the range checks. */
export interface ContainerLayout {
  format: DiskFormat
  size: number
  /**
   * The clusters (blocks, grains) that may hold data, one extent each, ascending, from the
   * one holding virtual offset `from`: a walk over a growing spool restarts where it had
   * to wait (growing-disk.ts). Every table entry walked is checked on the way.
   */
  extents(from: number): Generator<Extent>
  locate(offset: number, length: number): Piece[]
}

/** The VirtualDisk of a container layout: reads go through its pieces. */
export function diskOf(f: ContainerFile, layout: ContainerLayout): VirtualDisk {
  const locate = (offset: number, length: number): Piece[] => {
    if (offset >= layout.size) return [{ kind: 'zero', length }]
    const inside = Math.min(length, layout.size - offset)
    const pieces = layout.locate(offset, inside)
    if (inside < length) pieces.push({ kind: 'zero', length: length - inside })
    return pieces
  }
  return {
    file: f.path,
    format: layout.format,
    size: layout.size,
    allocated: () => mergeExtents(layout.extents(0)),
    locate,
    readAt: (offset, length) => {
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid read range offset=${offset} length=${length}`)
      const out = Buffer.alloc(length)
      try {
        readPieces(pieceIo, f.fd, locate(offset, length), out)
      } catch (e) {
        if (e instanceof DiskFormatError) throw e
        throw new DiskFormatError(f.path, offset, `reading virtual bytes ${offset}-${offset + length}: ${e instanceof Error ? e.message : String(e)}`)
      }
      return out
    },
    close: () => f.close(),
  }
}

/** Appends a piece, merging it with the previous one where the file bytes continue. */
export function pushPiece(out: Piece[], p: Piece): void {
  const last = out[out.length - 1]
  if (last && last.kind === 'zero' && p.kind === 'zero') last.length += p.length
  else if (last && last.kind === 'file' && p.kind === 'file' && last.at + last.length === p.at) last.length += p.length
  else out.push(p)
}

/** Merges ascending extents that touch. */
export function* mergeExtents(extents: Iterable<Extent>): Generator<Extent> {
  let cur: Extent | undefined
  for (const e of extents) {
    if (cur && e.offset <= cur.offset + cur.length) {
      cur.length = Math.max(cur.length, e.offset + e.length - cur.offset)
      continue
    }
    if (cur) yield cur
    cur = { ...e }
  }
  if (cur) yield cur
}
