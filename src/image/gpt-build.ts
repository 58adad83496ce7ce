import { crc32 } from './crc32.js'
import { guidToBytes, GPT_SIGNATURE } from './gpt.js'
import { buildMbr, MBR_TYPE_GPT_PROTECTIVE, SECTOR_SIZE } from './mbr.js'
import type { Extent } from './extents.js'

export interface GptPartitionInput {
  typeGuid: string
  uniqueGuid: string
  startLba: number
  endLba: number
  name?: string
}

const ENTRIES = 128
const ENTRY_SIZE = 128
const ARRAY_SECTORS = (ENTRIES * ENTRY_SIZE) / SECTOR_SIZE

function header(myLba: number, altLba: number, entriesLba: number, lastUsable: number, diskGuid: string, arrayCrc: number): Buffer {
  const h = Buffer.alloc(SECTOR_SIZE)
  h.write(GPT_SIGNATURE, 0, 'latin1')
  h.writeUInt32LE(0x00010000, 8)
  h.writeUInt32LE(92, 12)
  h.writeBigUInt64LE(BigInt(myLba), 24)
  h.writeBigUInt64LE(BigInt(altLba), 32)
  h.writeBigUInt64LE(BigInt(2 + ARRAY_SECTORS), 40)
  h.writeBigUInt64LE(BigInt(lastUsable), 48)
  guidToBytes(diskGuid).copy(h, 56)
  h.writeBigUInt64LE(BigInt(entriesLba), 72)
  h.writeUInt32LE(ENTRIES, 80)
  h.writeUInt32LE(ENTRY_SIZE, 84)
  h.writeUInt32LE(arrayCrc, 88)
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16)
  return h
}

/**
 * A complete GPT (protective MBR, primary and backup headers and arrays) as extents,
 * the way sfdisk lays it out: 128 entries of 128 bytes, first usable LBA 34.
 */
export function buildGpt(diskSize: number, diskGuid: string, parts: readonly GptPartitionInput[]): Extent[] {
  const sectors = Math.floor(diskSize / SECTOR_SIZE)
  const lastLba = sectors - 1
  const lastUsable = lastLba - 1 - ARRAY_SECTORS
  if (parts.length > ENTRIES) throw new RangeError(`at most ${ENTRIES} GPT partitions`)
  const array = Buffer.alloc(ENTRIES * ENTRY_SIZE)
  parts.forEach((p, i) => {
    if (p.startLba < 2 + ARRAY_SECTORS || p.endLba > lastUsable || p.endLba < p.startLba) {
      throw new RangeError(`GPT partition ${i + 1} (${p.startLba}-${p.endLba}) is outside the usable area`)
    }
    const at = i * ENTRY_SIZE
    guidToBytes(p.typeGuid).copy(array, at)
    guidToBytes(p.uniqueGuid).copy(array, at + 16)
    array.writeBigUInt64LE(BigInt(p.startLba), at + 32)
    array.writeBigUInt64LE(BigInt(p.endLba), at + 40)
    array.write((p.name ?? '').slice(0, 36), at + 56, 'utf16le')
  })
  const arrayCrc = crc32(array)
  const backupArrayLba = lastLba - ARRAY_SECTORS
  const pmbr = buildMbr([{ type: MBR_TYPE_GPT_PROTECTIVE, startLba: 1, sectors: Math.min(lastLba, 0xffffffff) }])
  pmbr.fill(0xff, 451, 454) // end CHS "not representable", as sfdisk writes it
  return [
    { offset: 0, data: pmbr },
    { offset: SECTOR_SIZE, data: header(1, lastLba, 2, lastUsable, diskGuid, arrayCrc) },
    { offset: 2 * SECTOR_SIZE, data: array },
    { offset: backupArrayLba * SECTOR_SIZE, data: array },
    { offset: lastLba * SECTOR_SIZE, data: header(lastLba, 1, backupArrayLba, lastUsable, diskGuid, arrayCrc) },
  ]
}
