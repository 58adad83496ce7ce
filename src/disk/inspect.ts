import { UserError } from '../errors.js'
import { withDisk } from './open-disk.js'
import { prepareImage, type SpoolProgress } from './spool.js'
import { DiskFormatError, type DiskFormat } from './virtual-disk.js'
import type { Compression } from './detect.js'

export interface ImageInfo {
  format: DiskFormat
  compression: Compression | null
  /** Virtual size: the bytes the VDI must hold. */
  size: number
  /** Bytes the container says may hold data. */
  allocated: number
}

/**
 * The check every command runs before using an image: decompresses it if needed
 * (spool.ts), opens it by content and walks all its tables, so that a truncated file or
 * a table pointing past its end stops the run here, before any XAPI call, with the file,
 * the offset and the fix. Later openings of the same image then cannot fail this way.
 */
export async function inspectImage(path: string, onProgress?: (p: SpoolProgress) => void, opts: { stream?: boolean; signal?: AbortSignal } = {}): Promise<ImageInfo> {
  try {
    const prepared = await prepareImage(path, onProgress, opts)
    // A disk still being decompressed (spool.ts, `stream`): a raw one's size is the one its xz index declares, checked at the end;
    // a container's is in its header, and its tables are checked as they are written (growing-disk.ts).
    if (prepared.growing) return { format: prepared.growing.container?.format ?? 'raw', compression: prepared.compression, size: prepared.growing.size, allocated: prepared.growing.size }
    return withDisk(path, (disk) => {
      let allocated = 0
      for (const e of disk.allocated()) allocated += e.length
      return { format: disk.format, compression: prepared.compression, size: disk.size, allocated }
    })
  } catch (e) {
    throw asUserError(path, e)
  }
}

/** A DiskFormatError as the user sees it; anything else unchanged. */
export function asUserError(path: string, e: unknown): unknown {
  if (e instanceof DiskFormatError) return new UserError({ what: `Cannot read the disk image ${path}`, why: e.message, fix: e.fix, code: 'image-unreadable' }, { cause: e })
  return e
}
