import { check } from './errors.js'

/** Directory entry attributes (fatgen103 DIR_Attr). */
export const ATTR_READ_ONLY = 0x01
export const ATTR_HIDDEN = 0x02
export const ATTR_SYSTEM = 0x04
export const ATTR_VOLUME_ID = 0x08
export const ATTR_DIRECTORY = 0x10
export const ATTR_ARCHIVE = 0x20
export const ATTR_LONG_NAME = 0x0f
const LAST_LONG_ENTRY = 0x40
/** DIR_NTRes bits Windows NT and Linux set for an all-lowercase base name or extension. */
const NT_LOWER_BASE = 0x08
const NT_LOWER_EXT = 0x10
export const DIRENT_SIZE = 32

export interface FatDirEntry {
  /** The long name when a valid one precedes the entry, else the short name as shown. */
  name: string
  /** The 8.3 name as stored, e.g. "BOOTX64.EFI". */
  shortName: string
  attr: number
  directory: boolean
  firstCluster: number
  size: number
}

/** The checksum a long-name entry carries of its short name (fatgen103 ChkSum()). */
export function shortNameChecksum(name11: Buffer): number {
  let sum = 0
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + (name11[i] ?? 0)) & 0xff
  return sum
}

function shortName(e: Buffer): string {
  const raw = Buffer.from(e.subarray(0, 11))
  if (raw[0] === 0x05) raw[0] = 0xe5 // 0x05 stands for a real 0xE5 first byte (KANJI lead byte)
  const nt = e.readUInt8(12)
  let base = raw.toString('latin1', 0, 8).trimEnd()
  let ext = raw.toString('latin1', 8, 11).trimEnd()
  if (nt & NT_LOWER_BASE) base = base.toLowerCase()
  if (nt & NT_LOWER_EXT) ext = ext.toLowerCase()
  return ext === '' ? base : `${base}.${ext}`
}

/** The 13 UTF-16 units of one long-name entry, in order. */
function longNamePart(e: Buffer): number[] {
  const units: number[] = []
  for (const [from, n] of [
    [1, 5],
    [14, 6],
    [28, 2],
  ] as const) {
    for (let i = 0; i < n; i++) units.push(e.readUInt16LE(from + 2 * i))
  }
  return units
}

/**
 * Parses directory data (whole clusters, or the fixed FAT12/16 root). Long names are
 * assembled from their entries and kept only when the sequence is complete and its
 * checksum matches the short entry, as the spec asks; otherwise the short name is used.
 * Volume labels, deleted entries, `.` and `..` are left out. Stops at the first
 * entry whose first byte is 0 (end of directory).
 */
export function parseFatDirectory(data: Buffer): FatDirEntry[] {
  check(data.length % DIRENT_SIZE === 0, `directory data of ${data.length} bytes is not whole entries`)
  const out: FatDirEntry[] = []
  let lfn: { units: number[][]; expect: number; checksum: number } | null = null
  for (let at = 0; at < data.length; at += DIRENT_SIZE) {
    const e = data.subarray(at, at + DIRENT_SIZE)
    const first = e.readUInt8(0)
    if (first === 0x00) break
    if (first === 0xe5) {
      lfn = null
      continue
    }
    const attr = e.readUInt8(11)
    if ((attr & 0x3f) === ATTR_LONG_NAME) {
      const ord = first & 0x3f
      if (first & LAST_LONG_ENTRY) {
        lfn = ord >= 1 && ord <= 20 ? { units: [], expect: ord, checksum: e.readUInt8(13) } : null
      } else if (lfn !== null && (ord !== lfn.expect || e.readUInt8(13) !== lfn.checksum)) {
        lfn = null
      }
      if (lfn !== null && ord === lfn.expect) {
        lfn.units[ord - 1] = longNamePart(e)
        lfn.expect = ord - 1
      }
      continue
    }
    const pending = lfn
    lfn = null
    if (attr & ATTR_VOLUME_ID) continue
    const short = shortName(e)
    if (short === '.' || short === '..') continue
    let name = short
    if (pending !== null && pending.expect === 0 && pending.checksum === shortNameChecksum(e.subarray(0, 11))) {
      const units = pending.units.flat()
      const end = units.indexOf(0)
      name = String.fromCharCode(...(end < 0 ? units : units.slice(0, end)))
    }
    out.push({
      name,
      shortName: short,
      attr,
      directory: (attr & ATTR_DIRECTORY) !== 0,
      firstCluster: ((e.readUInt16LE(20) << 16) | e.readUInt16LE(26)) >>> 0,
      size: e.readUInt32LE(28),
    })
  }
  return out
}

/**
 * UEFI's FAT driver compares names with the Unicode collation protocol's StriColl,
 * case-insensitively, against the long name and the short name alike.
 */
export function fatNameMatches(entry: FatDirEntry, wanted: string): boolean {
  const w = wanted.toUpperCase()
  return entry.name.toUpperCase() === w || entry.shortName.toUpperCase() === w
}
