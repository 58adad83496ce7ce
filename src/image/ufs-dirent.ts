import { check } from './errors.js'

/** Directory entries never straddle a 512-byte chunk, so a torn write loses at most one chunk. */
export const DIRBLKSIZ = 512
export const MAXNAMLEN = 255
export const DT_UNKNOWN = 0
export const DT_DIR = 4
export const DT_REG = 8
export const DT_LNK = 10

export interface DirEntry {
  ino: number
  type: number
  name: string
}

/** Space an entry needs: 8-byte header plus the NUL-terminated name, padded to 4. */
export function direntSize(nameBytes: number): number {
  return 8 + ((nameBytes + 1 + 3) & ~3)
}

/**
 * Parses directory data chunk by chunk, following d_reclen. `oldFormat` is the 4.2BSD
 * layout (16-bit d_namlen, no d_type) used by FS_42INODEFMT file systems.
 */
export function parseDirectory(data: Buffer, oldFormat = false): DirEntry[] {
  check(data.length % DIRBLKSIZ === 0, `directory size ${data.length} is not a multiple of ${DIRBLKSIZ}`)
  const out: DirEntry[] = []
  for (let chunk = 0; chunk < data.length; chunk += DIRBLKSIZ) {
    let at = chunk
    const end = chunk + DIRBLKSIZ
    while (at < end) {
      const ino = data.readUInt32LE(at)
      const reclen = data.readUInt16LE(at + 4)
      const namlen = oldFormat ? data.readUInt16LE(at + 6) : data.readUInt8(at + 7)
      // reclen >= 8 guarantees progress, so the loop is bounded by the chunk size.
      check(reclen >= 8 && reclen % 4 === 0 && at + reclen <= end, `bad d_reclen ${reclen} at directory offset ${at}`)
      if (ino !== 0) {
        check(namlen > 0 && namlen <= MAXNAMLEN && direntSize(namlen) <= reclen, `bad d_namlen ${namlen} at directory offset ${at}`)
        out.push({ ino, type: oldFormat ? DT_UNKNOWN : data.readUInt8(at + 6), name: data.toString('utf8', at + 8, at + 8 + namlen) })
      }
      at += reclen
    }
  }
  return out
}

/**
 * Encodes entries (`.` and `..` first, as the caller orders them) into DIRBLKSIZ
 * chunks; the last entry of each chunk absorbs the slack, as FFS expects.
 */
export function encodeDirectory(entries: readonly DirEntry[]): Buffer {
  const chunks: Buffer[] = []
  let chunk = Buffer.alloc(DIRBLKSIZ)
  let at = 0
  let last = -1
  const close = (): void => {
    if (last >= 0) chunk.writeUInt16LE(DIRBLKSIZ - last, last + 4)
    chunks.push(chunk)
  }
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8')
    if (name.length === 0 || name.length > MAXNAMLEN || name.includes(0x2f) || name.includes(0)) {
      throw new RangeError(`invalid file name ${JSON.stringify(e.name)}`)
    }
    const size = direntSize(name.length)
    if (at + size > DIRBLKSIZ) {
      close()
      chunk = Buffer.alloc(DIRBLKSIZ)
      at = 0
      last = -1
    }
    chunk.writeUInt32LE(e.ino, at)
    chunk.writeUInt16LE(size, at + 4)
    chunk.writeUInt8(e.type, at + 6)
    chunk.writeUInt8(name.length, at + 7)
    name.copy(chunk, at + 8)
    last = at
    at += size
  }
  if (last < 0) chunk.writeUInt16LE(DIRBLKSIZ, 4) // an empty chunk is one unused entry
  close()
  return Buffer.concat(chunks)
}
