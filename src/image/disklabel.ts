import { check } from './errors.js'
import { SECTOR_SIZE } from './mbr.js'

export const DISKLABEL_MAGIC = 0x82564557
/** The label lives in sector 1 of the slice (LABELSECTOR=1, LABELOFFSET=0 on x86). */
export const DISKLABEL_SECTOR = 1
export const DISKLABEL_PARTITIONS_OFFSET = 148
export const DISKLABEL_PARTITION_SIZE = 16
export const FS_UNUSED = 0
export const FS_SWAP = 1
export const FS_BSDFFS = 7
export const RAW_PART = 2
/** GEOM's g_part_bsd accepts 8..20 partitions; bsdlabel always writes 8. */
export const MIN_PARTITIONS = 8
export const MAX_PARTITIONS = 20

export interface BsdPartition {
  index: number
  letter: string
  size: number
  offset: number
  fsize: number
  fstype: number
  frag: number
  cpg: number
}

export interface Disklabel {
  type: number
  typename: string
  packname: string
  secsize: number
  nsectors: number
  ntracks: number
  ncylinders: number
  secpercyl: number
  secperunit: number
  npartitions: number
  bbsize: number
  sbsize: number
  checksumValid: boolean
  partitions: BsdPartition[]
}

function xorSum(label: Buffer, npartitions: number): number {
  let sum = 0
  const end = DISKLABEL_PARTITIONS_OFFSET + npartitions * DISKLABEL_PARTITION_SIZE
  for (let at = 0; at < end; at += 2) sum ^= label.readUInt16LE(at)
  return sum
}

const cstr = (b: Buffer): string => b.toString('latin1').replace(/\0.*$/s, '')

/** Parses the label from the 512 bytes of sector 1 of a slice. */
export function parseDisklabel(sector: Buffer): Disklabel {
  check(sector.length >= SECTOR_SIZE, `disklabel needs ${SECTOR_SIZE} bytes`)
  check(sector.readUInt32LE(0) === DISKLABEL_MAGIC, 'no BSD disklabel magic in sector 1 of the slice')
  check(sector.readUInt32LE(132) === DISKLABEL_MAGIC, 'BSD disklabel magic2 is wrong')
  const npartitions = sector.readUInt16LE(138)
  check(npartitions <= MAX_PARTITIONS, `BSD disklabel claims ${npartitions} partitions (max ${MAX_PARTITIONS})`)
  const partitions: BsdPartition[] = []
  for (let i = 0; i < npartitions; i++) {
    const at = DISKLABEL_PARTITIONS_OFFSET + i * DISKLABEL_PARTITION_SIZE
    partitions.push({
      index: i,
      letter: String.fromCharCode(97 + i),
      size: sector.readUInt32LE(at),
      offset: sector.readUInt32LE(at + 4),
      fsize: sector.readUInt32LE(at + 8),
      fstype: sector.readUInt8(at + 12),
      frag: sector.readUInt8(at + 13),
      cpg: sector.readUInt16LE(at + 14),
    })
  }
  return {
    type: sector.readUInt16LE(4),
    typename: cstr(sector.subarray(8, 24)),
    packname: cstr(sector.subarray(24, 40)),
    secsize: sector.readUInt32LE(40),
    nsectors: sector.readUInt32LE(44),
    ntracks: sector.readUInt32LE(48),
    ncylinders: sector.readUInt32LE(52),
    secpercyl: sector.readUInt32LE(56),
    secperunit: sector.readUInt32LE(60),
    npartitions,
    bbsize: sector.readUInt32LE(140),
    sbsize: sector.readUInt32LE(144),
    checksumValid: xorSum(sector, npartitions) === 0,
    partitions,
  }
}

/** What FreeBSD's GEOM (g_part_bsd_read) would object to; empty when it would accept the label. */
export function disklabelProblems(label: Disklabel, sliceSectors: number): string[] {
  const p: string[] = []
  if (!label.checksumValid) p.push('checksum mismatch')
  if (label.secsize !== SECTOR_SIZE) p.push(`d_secsize ${label.secsize} is not ${SECTOR_SIZE}`)
  if (label.nsectors < 1 || label.nsectors > 255) p.push(`d_nsectors ${label.nsectors} not in 1..255`)
  if (label.ntracks < 1 || label.ntracks > 255) p.push(`d_ntracks ${label.ntracks} not in 1..255`)
  if (label.secperunit < 1 || label.secperunit > sliceSectors) p.push(`d_secperunit ${label.secperunit} not in 1..${sliceSectors}`)
  if (label.npartitions < MIN_PARTITIONS) p.push(`d_npartitions ${label.npartitions} < ${MIN_PARTITIONS}`)
  return p
}

/**
 * Start of a partition in sectors from the slice start, computed like boot2 and GEOM:
 * `p_offset - c.p_offset`, so labels with absolute (bsdlabel) and relative (gpart)
 * offsets both work. Returns null where FreeBSD would skip the entry.
 */
export function partitionStartInSlice(label: Disklabel, index: number): number | null {
  const part = label.partitions[index]
  if (part === undefined || part.size === 0 || (part.fstype === FS_UNUSED && index !== RAW_PART)) return null
  const raw = label.partitions[RAW_PART]
  const base = raw === undefined ? 0 : raw.offset
  return part.offset < base ? null : part.offset - base
}

export interface DisklabelInput {
  /** Size of the slice in sectors; `c` covers all of it. */
  sliceSectors: number
  /** Where `a` starts inside the slice, in sectors (0, or 16 as `bsdlabel -w` does). */
  partitionOffset: number
  /** Added to every p_offset: the slice LBA for bsdlabel-style absolute labels, 0 for gpart style. */
  offsetBase: number
  /** Fragment size and frags per block recorded in `a` (newfs writes them back). */
  fsize?: number
  frag?: number
}

const GEOM_SECTORS = 63
const GEOM_HEADS = 255

/** A label like FreeBSD's bsdlabel(8) writes for `a` = 4.2BSD and `c` = the raw slice. */
export function buildDisklabel(input: DisklabelInput): Buffer {
  const { sliceSectors, partitionOffset, offsetBase } = input
  if (!Number.isInteger(sliceSectors) || sliceSectors < 1 || sliceSectors > 0xffffffff) {
    throw new RangeError(`slice of ${sliceSectors} sectors does not fit a BSD label`)
  }
  if (!Number.isInteger(partitionOffset) || partitionOffset < 0 || partitionOffset >= sliceSectors) {
    throw new RangeError(`partition offset ${partitionOffset} is outside the slice`)
  }
  if (offsetBase + sliceSectors > 0xffffffff) throw new RangeError('absolute offsets overflow 32 bits')
  const label = Buffer.alloc(SECTOR_SIZE)
  const secpercyl = GEOM_SECTORS * GEOM_HEADS
  label.writeUInt32LE(DISKLABEL_MAGIC, 0)
  label.writeUInt16LE(4, 4) // DTYPE_SCSI, what bsdlabel reports for da/md disks
  label.write('amnesiac', 8, 'latin1')
  label.writeUInt32LE(SECTOR_SIZE, 40)
  label.writeUInt32LE(GEOM_SECTORS, 44)
  label.writeUInt32LE(GEOM_HEADS, 48)
  label.writeUInt32LE(Math.floor(sliceSectors / secpercyl), 52)
  label.writeUInt32LE(secpercyl, 56)
  label.writeUInt32LE(sliceSectors, 60)
  label.writeUInt16LE(3600, 72) // d_rpm
  label.writeUInt16LE(1, 74) // d_interleave
  label.writeUInt32LE(DISKLABEL_MAGIC, 132)
  label.writeUInt16LE(MIN_PARTITIONS, 138)
  label.writeUInt32LE(8192, 140) // d_bbsize: BBSIZE
  const put = (index: number, size: number, offset: number, fstype: number, fsize: number, frag: number): void => {
    const at = DISKLABEL_PARTITIONS_OFFSET + index * DISKLABEL_PARTITION_SIZE
    label.writeUInt32LE(size, at)
    label.writeUInt32LE(offset, at + 4)
    label.writeUInt32LE(fsize, at + 8)
    label.writeUInt8(fstype, at + 12)
    label.writeUInt8(frag, at + 13)
  }
  put(0, sliceSectors - partitionOffset, offsetBase + partitionOffset, FS_BSDFFS, input.fsize ?? 2048, input.frag ?? 8)
  put(RAW_PART, sliceSectors, offsetBase, FS_UNUSED, 0, 0)
  label.writeUInt16LE(xorSum(label, MIN_PARTITIONS), 136)
  return label
}
