import { check } from './errors.js'

export const SECTOR_SIZE = 512
export const MBR_SIGNATURE_OFFSET = 510
export const MBR_TABLE_OFFSET = 446
export const MBR_ENTRY_SIZE = 16
export const MBR_STATUS_ACTIVE = 0x80
export const MBR_TYPE_EMPTY = 0x00
export const MBR_TYPE_LINUX = 0x83
/** Also Linux swap: pygrub treats it as Solaris and looks for a VTOC. */
export const MBR_TYPE_SOLARIS_OLD = 0x82
export const MBR_TYPE_SOLARIS = 0xbf
export const MBR_TYPE_FREEBSD = 0xa5
export const MBR_TYPE_GPT_PROTECTIVE = 0xee

/** The CHS fields are only for very old BIOSes; LBA fields are authoritative. */
export interface MbrEntry {
  index: number
  status: number
  active: boolean
  type: number
  startLba: number
  sectors: number
}

export interface Mbr {
  /** 0x55 0xAA at 510: what pygrub (and every BIOS) uses to call the disk partitioned. */
  signatureValid: boolean
  entries: MbrEntry[]
}

export function parseMbr(sector: Buffer): Mbr {
  check(sector.length >= SECTOR_SIZE, `MBR needs ${SECTOR_SIZE} bytes, got ${sector.length}`)
  const entries: MbrEntry[] = []
  for (let i = 0; i < 4; i++) {
    const at = MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE
    const status = sector.readUInt8(at)
    entries.push({
      index: i,
      status,
      active: status === MBR_STATUS_ACTIVE,
      type: sector.readUInt8(at + 4),
      startLba: sector.readUInt32LE(at + 8),
      sectors: sector.readUInt32LE(at + 12),
    })
  }
  return { signatureValid: sector.readUInt16LE(MBR_SIGNATURE_OFFSET) === 0xaa55, entries }
}

export interface MbrEntryInput {
  type: number
  startLba: number
  sectors: number
  active?: boolean
}

/**
 * CHS as fdisk computes it for the classic 255 heads x 63 sectors geometry;
 * addresses past cylinder 1023 saturate to 1023/254/63 as the spec requires.
 */
function chs(lba: number): [number, number, number] {
  const cyl = Math.floor(lba / (255 * 63))
  if (cyl > 1023) return [0xfe, 0xff, 0xff]
  const head = Math.floor(lba / 63) % 255
  const sector = (lba % 63) + 1
  return [head, ((cyl >> 2) & 0xc0) | sector, cyl & 0xff]
}

/** Builds a 512-byte MBR (no boot code) with up to four primary entries. */
export function buildMbr(entries: readonly MbrEntryInput[], diskSignature = 0): Buffer {
  if (entries.length > 4) throw new RangeError('an MBR holds at most 4 primary entries')
  const mbr = Buffer.alloc(SECTOR_SIZE)
  mbr.writeUInt32LE(diskSignature >>> 0, 440)
  entries.forEach((e, i) => {
    if (!Number.isInteger(e.startLba) || e.startLba < 1 || e.startLba > 0xffffffff) {
      throw new RangeError(`entry ${i}: startLba ${e.startLba} is out of range`)
    }
    if (!Number.isInteger(e.sectors) || e.sectors < 1 || e.startLba + e.sectors - 1 > 0xffffffff) {
      throw new RangeError(`entry ${i}: sectors ${e.sectors} is out of range`)
    }
    const at = MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE
    mbr.writeUInt8(e.active === true ? MBR_STATUS_ACTIVE : 0, at)
    Buffer.from(chs(e.startLba)).copy(mbr, at + 1)
    mbr.writeUInt8(e.type & 0xff, at + 4)
    Buffer.from(chs(e.startLba + e.sectors - 1)).copy(mbr, at + 5)
    mbr.writeUInt32LE(e.startLba, at + 8)
    mbr.writeUInt32LE(e.sectors, at + 12)
  })
  mbr.writeUInt16LE(0xaa55, MBR_SIGNATURE_OFFSET)
  return mbr
}
