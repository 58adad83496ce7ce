import { disklabelProblems, partitionStartInSlice, parseDisklabel, RAW_PART } from '../image/disklabel.js'
import { ImageFormatError } from '../image/errors.js'
import { GPT_TYPE_FREEBSD_UFS, parseGpt } from '../image/gpt.js'
import { MBR_TYPE_FREEBSD, MBR_TYPE_GPT_PROTECTIVE, parseMbr, SECTOR_SIZE } from '../image/mbr.js'
import type { ReadAt } from '../image/read-at.js'
import { fstypeName, gptTypeName, mbrTypeName } from './names.js'
import type { BsdLabel, PartitionTable, TableEntry } from './report.js'

/** A place the FreeBSD root may be, in the order FreeBSD's loader would look. */
export interface Candidate {
  where: string
  start: number
  /** Size the table claims; may run past the end of a truncated image. */
  size: number
  /** Set for partition `a` of a BSD label: where the slice starts (what pygrub reads). */
  slice?: { index: number; start: number; startInSlice: number }
}

export interface Layout {
  table: PartitionTable
  labels: BsdLabel[]
  candidates: Candidate[]
  /** FreeBSD slices with no BSD label: pygrub does not care, FreeBSD sees no partition a. */
  unlabelled: number[]
}

/** Reads the partition table, every BSD label, and lists where a root file system may be. */
export function readLayout(read: ReadAt, size: number): Layout {
  const problems: string[] = []
  const labels: BsdLabel[] = []
  const candidates: Candidate[] = []
  const mbr = size >= SECTOR_SIZE ? parseMbr(read(0, SECTOR_SIZE)) : null
  if (mbr === null || !mbr.signatureValid) {
    // A bare disk: the file system at 0, or a "dangerously dedicated" label in sector 1.
    const label = readLabel(read, size, 0, Math.floor(size / SECTOR_SIZE), 0)
    if (label !== null) {
      labels.push(label.report)
      if (label.a !== null) candidates.push(label.a)
    }
    candidates.push({ where: 'the whole disk (no partition table)', start: 0, size })
    return { table: { kind: 'none', entries: [], problems }, labels, candidates, unlabelled: [] }
  }
  const entries: TableEntry[] = []
  const unlabelled: number[] = []
  for (const e of mbr.entries) {
    if (e.type === 0 || e.startLba === 0) continue
    const n = e.index + 1
    const start = e.startLba * SECTOR_SIZE
    entries.push({ index: n, type: hex(e.type), type_name: mbrTypeName(e.type), active: e.active, start, size: e.sectors * SECTOR_SIZE })
    if (e.type === MBR_TYPE_GPT_PROTECTIVE) return readGpt(read, size, problems, labels)
    if (e.type === MBR_TYPE_FREEBSD) {
      const label = readLabel(read, size, start, e.sectors, n)
      if (label === null) unlabelled.push(n)
      else labels.push(label.report)
      if (label?.a) {
        candidates.push(label.a)
        continue
      }
    }
    candidates.push({ where: `slice ${n} (type ${hex(e.type)}, ${mbrTypeName(e.type)})`, start, size: e.sectors * SECTOR_SIZE })
  }
  return { table: { kind: 'mbr', entries, problems }, labels, candidates, unlabelled }
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

function readGpt(read: ReadAt, size: number, problems: string[], labels: BsdLabel[]): Layout {
  const entries: TableEntry[] = []
  const candidates: Candidate[] = []
  try {
    const gpt = parseGpt(read, size)
    if (!gpt.header.headerCrcValid) problems.push('GPT header CRC mismatch')
    if (!gpt.header.entriesCrcValid) problems.push('GPT entry array CRC mismatch')
    for (const e of gpt.entries) {
      const start = e.startLba * SECTOR_SIZE
      const bytes = Math.max(0, e.endLba - e.startLba + 1) * SECTOR_SIZE
      entries.push({ index: e.index + 1, type: e.typeGuid, type_name: gptTypeName(e.typeGuid), active: false, start, size: bytes })
      const c = { where: `GPT partition ${e.index + 1} (${gptTypeName(e.typeGuid)})`, start, size: bytes }
      // freebsd-ufs first: that is where gptboot looks for the root.
      if (e.typeGuid === GPT_TYPE_FREEBSD_UFS) candidates.unshift(c)
      else candidates.push(c)
    }
  } catch (e) {
    if (!(e instanceof ImageFormatError)) throw e
    problems.push(`GPT: ${e.message}`)
  }
  return { table: { kind: 'gpt', entries, problems }, labels, candidates, unlabelled: [] }
}

/** The label in sector 1 of a slice, and partition `a` as FreeBSD places it (a minus c). */
function readLabel(read: ReadAt, size: number, sliceStart: number, sliceSectors: number, slice: number): { report: BsdLabel; a: Candidate | null } | null {
  if (sliceStart + 2 * SECTOR_SIZE > size) return null
  let label
  try {
    label = parseDisklabel(read(sliceStart + SECTOR_SIZE, SECTOR_SIZE))
  } catch (e) {
    if (e instanceof ImageFormatError) return null
    throw e
  }
  const partitions = label.partitions
    .filter((p) => p.size > 0)
    .map((p) => {
      const inSlice = partitionStartInSlice(label, p.index)
      return {
        letter: p.letter,
        fstype: fstypeName(p.fstype),
        start_in_slice: inSlice,
        start: inSlice === null ? null : sliceStart + inSlice * SECTOR_SIZE,
        size: p.size * SECTOR_SIZE,
      }
    })
  const raw = label.partitions[RAW_PART]
  const report: BsdLabel = {
    slice,
    at: sliceStart + SECTOR_SIZE,
    checksum_valid: label.checksumValid,
    offsets: raw !== undefined && raw.offset !== 0 && raw.offset === sliceStart / SECTOR_SIZE ? 'absolute' : 'relative',
    problems: disklabelProblems(label, sliceSectors),
    partitions,
  }
  const a = partitions.find((p) => p.letter === 'a')
  if (a === undefined || a.start === null || a.start_in_slice === null) return { report, a: null }
  const name = slice === 0 ? 'partition a of the disk label' : `slice ${slice}, partition a`
  return { report, a: { where: name, start: a.start, size: a.size, slice: { index: slice, start: sliceStart, startInSlice: a.start_in_slice } } }
}
