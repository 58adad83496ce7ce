import { pygrubGptOffsets } from './gpt.js'
import { MBR_TABLE_OFFSET, MBR_TYPE_GPT_PROTECTIVE, MBR_TYPE_SOLARIS, MBR_TYPE_SOLARIS_OLD, SECTOR_SIZE } from './mbr.js'
import type { ReadAt } from './read-at.js'

export type PygrubOffsets = { ok: true; offsets: number[] } | { ok: false; message: string }

const DKL_MAGIC = 0xdabe
const V_ROOT = 2
type Solaris = { found: true; offset: number } | { found: false } | { crash: string }

const structError = (n: number): string => `struct.error: unpack requires a buffer of ${n} bytes`

/** pygrub's get_solaris_slice(): a VTOC in the sector after the partition start. */
function solarisRoot(read: ReadAt, size: number, offset: number): Solaris {
  const at = offset + SECTOR_SIZE
  const have = Math.max(0, Math.min(SECTOR_SIZE, size - at))
  if (have < 510) return { crash: structError(2) }
  const buf = read(at, have)
  if (buf.readUInt16LE(508) !== DKL_MAGIC) return { found: false } // RuntimeError, caught: entry skipped
  const nslices = buf.readUInt16LE(30)
  for (let i = 0; i < nslices; i++) {
    const so = 72 + 12 * i
    // pygrub unpacks tag and start sector before testing the tag.
    if (so + 2 > have) return { crash: structError(2) }
    if (so + 8 > have) return { crash: structError(4) }
    if (buf.readUInt16LE(so) === V_ROOT) return { found: true, offset: buf.readUInt32LE(so + 4) * SECTOR_SIZE }
  }
  return { found: false }
}

/**
 * The list of offsets pygrub's get_partition_offsets() tries, in order. Two Python 3
 * quirks are kept on purpose: the "active partition first" test never matches (bytes
 * compared with str), and neither does the HybridISO test. No BSD disklabel is read:
 * a FreeBSD slice yields the slice start. Uncaught Python errors come back as messages.
 */
export function pygrubPartitionOffsets(read: ReadAt, size: number): PygrubOffsets {
  if (size < SECTOR_SIZE || read(0x1fe, 2).readUInt16LE(0) !== 0xaa55) return { ok: true, offsets: [0] }
  const mbr = read(0, SECTOR_SIZE)
  const offsets: number[] = []
  for (let i = 0; i < 4; i++) {
    const e = MBR_TABLE_OFFSET + 16 * i
    let offset = mbr.readUInt32LE(e + 8) * SECTOR_SIZE
    const type = mbr.readUInt8(e + 4)
    if (offset === 0) continue
    if (type === MBR_TYPE_SOLARIS || type === MBR_TYPE_SOLARIS_OLD) {
      const s = solarisRoot(read, size, offset)
      if ('crash' in s) return { ok: false, message: s.crash }
      if (!s.found) continue
      offset += s.offset
    }
    if (type === MBR_TYPE_GPT_PROTECTIVE) {
      const gpt = pygrubGptOffsets(read, size)
      if (!gpt.ok) return gpt
      offsets.push(...gpt.offsets)
      break
    }
    offsets.push(offset)
  }
  return { ok: true, offsets: offsets.length > 0 ? offsets : [0] }
}
