import { readSync } from 'node:fs'

/** Random access to a disk image: returns exactly `length` bytes at `offset`, zero-filled past the end. */
export type ReadAt = (offset: number, length: number) => Buffer

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid read range offset=${offset} length=${length}`)
  }
}

export function bufferReadAt(buf: Buffer): ReadAt {
  return (offset, length) => {
    checkRange(offset, length)
    const out = Buffer.alloc(length)
    if (offset < buf.length) buf.copy(out, 0, offset, Math.min(buf.length, offset + length))
    return out
  }
}

/** The only I/O helper of the folder: synchronous reads so that the pure readers stay synchronous. */
export function fileReadAt(fd: number, size: number): ReadAt {
  return (offset, length) => {
    checkRange(offset, length)
    const out = Buffer.alloc(length)
    const want = Math.max(0, Math.min(length, size - offset))
    let done = 0
    while (done < want) {
      const n = readSync(fd, out, done, want - done, offset + done)
      if (n === 0) break // file shrank under us: the rest stays zero, as documented
      done += n
    }
    return out
  }
}

/** A view of a partition: offsets become relative to `base`. */
export function subReadAt(read: ReadAt, base: number): ReadAt {
  return (offset, length) => read(base + offset, length)
}
