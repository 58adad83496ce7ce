import { UserError } from '../errors.js'

/** What spool.ts gives the writer of a spool (spool-xz.ts, spool-gzip.ts). */
export interface SpoolContext {
  /** The compressed image. */
  path: string
  /** The spool's path and its open, empty, writable descriptor (not in append mode). */
  spool: string
  out: number
  /** Decompressed bytes beyond which the stream is refused (its xz index's size, or the virtual size limit). */
  limit: number
  /** What the xz index declares, if anything: the message names it. */
  declared: number | undefined
  /** With the compressed bytes read and the decompressed bytes so far; may throw to stop (no room left). */
  progress(read: number, written: number): void
  /** A new stretch of the spool is final (SpoolJob.mark moved). */
  step(): void
}

/** A spool being written. */
export interface SpoolJob {
  /** Below this offset the spool and `runs` are final (but for the last run, which the next block may extend); unfollowed, the spool's size. */
  mark(): number
  /** Ascending [offset, length] runs of the non-zero 64 KiB blocks below mark() (a live array); undefined when not known (data-map.ts then finds them). */
  runs(): readonly number[] | undefined
  /** Resolves with the decompressed size when the spool is whole, rejects with what stopped it. */
  readonly done: Promise<number>
  /** Stops the writing; `done` rejects with `reason`. */
  abort(reason: unknown): void
  /** Stops mapping the spool (a container: its tables are the map); runs() is then undefined. */
  unfollow?(): void
}

export function expandsBeyond(c: SpoolContext): Error {
  return new UserError({
    code: 'image-unreadable',
    what: `Cannot decompress ${c.path}`,
    why: `it expands beyond ${c.declared !== undefined ? `the size its xz index declares (${c.declared} bytes)` : `${c.limit} bytes`}: a corrupt or malicious file`,
    fix: 'download it again and check its published sha256',
  })
}
