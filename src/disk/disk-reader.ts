import { open } from 'node:fs/promises'
import { openDisk } from './open-disk.js'

/** What the upload reads an image through: FileHandle.read's shape, on the virtual disk. */
export interface DiskReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  close(): Promise<void>
}

/**
 * A reader of the virtual disk held in `file` (a DataMap's path): the file itself for a
 * raw image (asynchronous reads, which let the socket and the disk overlap), else its
 * container's tables (synchronous reads of 4 MiB pieces, a millisecond each).
 */
export async function openDiskReader(file: string): Promise<DiskReader> {
  const disk = openDisk(file)
  if (disk.format === 'raw') {
    disk.close()
    const fh = await open(file, 'r')
    return { read: (b, o, l, p) => fh.read(b, o, l, p), close: () => fh.close() }
  }
  return {
    read: (b, o, l, p) => {
      const n = Math.max(0, Math.min(l, disk.size - p))
      if (n > 0) disk.readAt(p, n).copy(b, o)
      return Promise.resolve({ bytesRead: n })
    },
    close: () => Promise.resolve(disk.close()),
  }
}
