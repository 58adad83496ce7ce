import type { ReadAt } from '../image/read-at.js'

/** The container formats read here; compression (xz, gzip) is a layer below (spool.ts). */
export type DiskFormat = 'raw' | 'qcow2' | 'vhd' | 'vmdk'

/** A range of the virtual disk, in bytes. */
export interface Extent {
  offset: number
  length: number
}

/**
 * Where `length` bytes of the virtual disk come from, in order: zeros, bytes of the
 * file, or part of a compressed cluster/grain (`stored` bytes at `at`, inflating to
 * `unit` bytes, of which `skip`.. are wanted). Plain data so that it crosses to worker
 * threads (read-pieces.ts).
 */
export type Piece =
  | { kind: 'zero'; length: number }
  | { kind: 'file'; length: number; at: number }
  | { kind: 'deflate' | 'zlib'; length: number; at: number; stored: number; skip: number; unit: number }

/**
 * A disk image as the guest sees it, whatever the container: its size, random reads,
 * and which ranges may hold data (everything else reads as zeros). Opened
 * synchronously, so the pure readers of src/image stay synchronous.
 */
export interface VirtualDisk {
  /** The file that holds the container (for a compressed image: its spool). */
  readonly file: string
  readonly format: DiskFormat
  /** Virtual size in bytes: what `qemu-img info` calls virtual size. */
  readonly size: number
  readonly readAt: ReadAt
  /** Ascending, disjoint ranges that may hold data. Raw images: the whole disk. */
  allocated(): Generator<Extent>
  /** Where [offset, offset+length) comes from; null for raw (read the file at the same offset). */
  locate(offset: number, length: number): Piece[] | null
  close(): void
}

/**
 * Bad or unsupported input in a disk container: names the file, the byte offset in it
 * and what is wrong, so a user can tell a truncated download from an unsupported
 * feature. Readers throw only this for bad input.
 */
export class DiskFormatError extends Error {
  override readonly name = 'DiskFormatError'
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
    readonly fix = 'check the download (sha256 of the published file), or convert it with qemu-img convert -O raw',
  ) {
    super(`${file}: at byte ${offset}: ${problem}`)
  }
}

/** The largest virtual size accepted: XAPI's qcow2 VDIs stop at 16 TiB; far beyond is a corrupt header. */
export const MAX_VIRTUAL_SIZE = 64 * 2 ** 40
