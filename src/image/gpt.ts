import { crc32 } from './crc32.js'
import { check } from './errors.js'
import { SECTOR_SIZE } from './mbr.js'
import type { ReadAt } from './read-at.js'

export const GPT_SIGNATURE = 'EFI PART'
export const GPT_TYPE_FREEBSD_BOOT = '83BD6B9D-7F41-11DC-BE0B-001560B84F0F'
export const GPT_TYPE_FREEBSD_UFS = '516E7CB6-6ECF-11D6-8FF8-00022D09712B'
export const GPT_TYPE_FREEBSD_SWAP = '516E7CB5-6ECF-11D6-8FF8-00022D09712B'
export const GPT_TYPE_EFI_SYSTEM = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
const ZERO_GUID = '00000000-0000-0000-0000-000000000000'
/** Entry-array bounds: the spec minimum is 128 entries of 128 bytes; anything huge is corrupt. */
const MAX_ENTRIES = 4096
const MAX_ENTRY_SIZE = 4096

export interface GptHeader {
  revision: number
  headerSize: number
  headerCrcValid: boolean
  myLba: number
  alternateLba: number
  firstUsableLba: number
  lastUsableLba: number
  diskGuid: string
  entriesLba: number
  numEntries: number
  entrySize: number
  entriesCrcValid: boolean
}

export interface GptEntry {
  index: number
  typeGuid: string
  uniqueGuid: string
  startLba: number
  endLba: number
  attributes: bigint
  name: string
}

/** GUIDs are stored with the first three fields little-endian. */
export function guidFromBytes(b: Buffer): string {
  const hex = (buf: Buffer): string => buf.toString('hex').toUpperCase()
  const le = (from: number, to: number): string => hex(Buffer.from(b.subarray(from, to)).reverse())
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`
}

export function guidToBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid)
  if (m === null) throw new RangeError(`not a GUID: ${guid}`)
  const part = (i: number, reverse: boolean): Buffer => {
    const b = Buffer.from(m[i] ?? '', 'hex')
    return reverse ? b.reverse() : b
  }
  return Buffer.concat([part(1, true), part(2, true), part(3, true), part(4, false), part(5, false)])
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at)
  check(v <= BigInt(Number.MAX_SAFE_INTEGER), `GPT ${what} ${v} is too large`)
  return Number(v)
}

/** Parses the primary GPT header at LBA 1 and its entry array (non-empty entries only). */
export function parseGpt(read: ReadAt, diskSize: number): { header: GptHeader; entries: GptEntry[] } {
  const h = read(SECTOR_SIZE, SECTOR_SIZE)
  check(h.toString('latin1', 0, 8) === GPT_SIGNATURE, 'no GPT signature "EFI PART" at LBA 1')
  const headerSize = h.readUInt32LE(12)
  check(headerSize >= 92 && headerSize <= SECTOR_SIZE, `GPT header size ${headerSize} is invalid`)
  const hdr = Buffer.from(h.subarray(0, headerSize))
  hdr.writeUInt32LE(0, 16)
  const numEntries = h.readUInt32LE(80)
  const entrySize = h.readUInt32LE(84)
  check(numEntries <= MAX_ENTRIES, `GPT claims ${numEntries} entries`)
  check(entrySize >= 128 && entrySize <= MAX_ENTRY_SIZE && entrySize % 8 === 0, `GPT entry size ${entrySize} is invalid`)
  const entriesLba = u64(h, 72, 'entry LBA')
  const arrayBytes = numEntries * entrySize
  check(entriesLba * SECTOR_SIZE + arrayBytes <= diskSize, 'GPT entry array lies past the end of the disk')
  const array = read(entriesLba * SECTOR_SIZE, arrayBytes)
  const header: GptHeader = {
    revision: h.readUInt32LE(8),
    headerSize,
    headerCrcValid: crc32(hdr) === h.readUInt32LE(16),
    myLba: u64(h, 24, 'my LBA'),
    alternateLba: u64(h, 32, 'alternate LBA'),
    firstUsableLba: u64(h, 40, 'first usable LBA'),
    lastUsableLba: u64(h, 48, 'last usable LBA'),
    diskGuid: guidFromBytes(h.subarray(56, 72)),
    entriesLba,
    numEntries,
    entrySize,
    entriesCrcValid: crc32(array) === h.readUInt32LE(88),
  }
  const entries: GptEntry[] = []
  for (let i = 0; i < numEntries; i++) {
    const e = array.subarray(i * entrySize, (i + 1) * entrySize)
    const typeGuid = guidFromBytes(e.subarray(0, 16))
    if (typeGuid === ZERO_GUID) continue
    const name = e.subarray(56, 128).toString('utf16le')
    entries.push({
      index: i,
      typeGuid,
      uniqueGuid: guidFromBytes(e.subarray(16, 32)),
      startLba: u64(e, 32, 'start LBA'),
      endLba: u64(e, 40, 'end LBA'),
      attributes: e.readBigUInt64LE(48),
      name: name.replace(/\0.*$/s, ''),
    })
  }
  return { header, entries }
}

/** Beyond this many entries the emulation gives up rather than spin (pygrub itself would grind on). */
const PYGRUB_GPT_ENTRY_CAP = 1 << 20

export type PygrubGptResult = { ok: true; offsets: number[] } | { ok: false; message: string }

/**
 * The offsets pygrub's get_fs_offset_gpt() yields, quirks included: no signature or
 * CRC check, PartitionEntryLBA ignored (entries are read sequentially from LBA 2),
 * and every entry's start LBA is kept, empty ones too. A short read makes Python's
 * struct.unpack raise, which pygrub does not catch; that message is returned.
 */
export function pygrubGptOffsets(read: ReadAt, size: number): PygrubGptResult {
  const structError = (n: number): PygrubGptResult => ({ ok: false, message: `struct.error: unpack requires a buffer of ${n} bytes` })
  if (size < SECTOR_SIZE + 84) return structError(4)
  const h = read(SECTOR_SIZE, SECTOR_SIZE)
  const count = h.readUInt32LE(80)
  const partSize = h.readUInt32LE(84)
  const offsets: number[] = []
  let pos = 2 * SECTOR_SIZE
  for (let i = 0; i < count; i++) {
    if (i >= PYGRUB_GPT_ENTRY_CAP) return { ok: false, message: `GPT header claims ${count} entries; emulation stops at ${PYGRUB_GPT_ENTRY_CAP}` }
    const got = Math.max(0, Math.min(partSize, size - pos))
    if (got < 40) return structError(8)
    offsets.push(Number(read(pos + 32, 8).readBigUInt64LE(0)) * SECTOR_SIZE)
    pos += got
  }
  return { ok: true, offsets }
}
