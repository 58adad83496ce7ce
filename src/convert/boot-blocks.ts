import { ImageFormatError, ImagePathError } from '../image/errors.js'
import { GPT_TYPE_FREEBSD_BOOT } from '../image/gpt.js'
import { MBR_TABLE_OFFSET, SECTOR_SIZE } from '../image/mbr.js'
import type { ReadAt } from '../image/read-at.js'
import type { UfsVolume } from '../image/ufs.js'
import type { Layout } from '../preflight/layout.js'
import type { ConvertItem } from './report.js'

/** A range --install-bootcode writes; `data` is the guest's own file's bytes. */
export interface Patch {
  offset: number
  data: Buffer
  source: string
  what: string
}

/** bsdlabel(8): the boot area is BBSIZE = 8192 bytes; /boot/boot is boot1 (sector 0) + boot2 (after the label sector). */
const BBSIZE = 8192
/** gpart(8): pmbr loads at most 545 KiB of freebsd-boot. */
const GPTBOOT_MAX = 545 * 1024
const isZero = (b: Buffer): boolean => b.every((x) => x === 0)
const hasMagic = (b: Buffer, at = 510): boolean => b.length >= at + 2 && b.readUInt16LE(at) === 0xaa55

type BootFile = { data: Buffer } | { missing: string }

function bootFile(volume: UfsVolume | null, path: string, ok: (b: Buffer) => string | null): BootFile {
  if (volume === null) return { missing: `${path}: the root file system could not be read` }
  try {
    const f = volume.readFile(path, { maxSize: 1024 * 1024 })
    if (f.type !== 'regular') return { missing: `${path} is a ${f.type}` }
    const bad = ok(f.data)
    return bad === null ? { data: f.data } : { missing: `${path} ${bad}` }
  } catch (e) {
    if (e instanceof ImagePathError) return { missing: `no ${path}` }
    if (e instanceof ImageFormatError) return { missing: `${path}: ${e.message}` }
    throw e
  }
}

const mbrCode = (b: Buffer): string | null => (b.length !== SECTOR_SIZE ? `is ${b.length} bytes, not 512` : !hasMagic(b) ? 'has no 0x55AA signature' : null)
const bsdBoot = (b: Buffer): string | null =>
  b.length <= 2 * SECTOR_SIZE || b.length > BBSIZE ? `is ${b.length} bytes; boot1+boot2 is at most ${BBSIZE}` : !hasMagic(b) ? 'has no 0x55AA at the end of boot1' : null

export interface BootPlan {
  items: ConvertItem[]
  patches: Patch[]
  /** Byte ranges that must read the same after the patches: the partition table, the labels. */
  preserved: { offset: number; length: number; what: string }[]
}

/**
 * Where the BIOS path of an HVM guest needs boot code, whether it is there, and which of
 * the guest's own /boot files fill it: boot0 (or mbr) in the MBR's code area, boot1 and
 * boot2 around the label in the slice's boot area as `bsdlabel -B` places them; pmbr and
 * gptboot for GPT as `gpart bootcode -b -p`. Code already present is kept, whatever it is.
 */
export function planBootBlocks(read: ReadAt, size: number, layout: Layout, volume: UfsVolume | null): BootPlan {
  const plan: BootPlan = { items: [], patches: [], preserved: [{ offset: MBR_TABLE_OFFSET, length: SECTOR_SIZE - MBR_TABLE_OFFSET, what: 'the partition table and 0x55AA' }] }
  for (const l of layout.labels) plan.preserved.push({ offset: l.at, length: SECTOR_SIZE, what: `the BSD label of slice ${l.slice}` })
  if (layout.table.kind === 'none') {
    plan.items.push({
      id: 'mbr-boot-code',
      status: 'blocks',
      fixed_by: 'guest',
      message: 'the disk has no partition table: the BIOS finds no 0x55AA and skips it',
      fix: 'give the disk an MBR with a FreeBSD slice (this command does not repartition)',
    })
    return plan
  }
  const gpt = layout.table.kind === 'gpt'
  const sector0 = read(0, SECTOR_SIZE)
  if (!isZero(sector0.subarray(0, 440))) {
    plan.items.push({ id: 'mbr-boot-code', status: 'ok', fixed_by: 'nothing', message: 'the MBR holds boot code (kept as it is)', fix: '' })
  } else {
    const names = gpt ? ['/boot/pmbr'] : ['/boot/boot0', '/boot/mbr']
    const files = names.map((n) => ({ n, f: bootFile(volume, n, mbrCode) }))
    const got = files.find((x) => 'data' in x.f)
    const fix =
      got !== undefined && 'data' in got.f
        ? (plan.patches.push({ offset: 0, data: got.f.data.subarray(0, MBR_TABLE_OFFSET), source: got.n, what: 'MBR boot code (bytes 0-445; the partition table is kept)' }),
          `--install-bootcode writes ${got.n} there, as ${gpt ? 'gpart bootcode -b' : 'boot0cfg -B'} would`)
        : `inside the guest: install the world's boot files (${files.map((x) => ('missing' in x.f ? x.f.missing : '')).join('; ')}), then run this again with --install-bootcode`
    plan.items.push({
      id: 'mbr-boot-code',
      status: 'blocks',
      fixed_by: got ? 'install-bootcode' : 'guest',
      message: 'the MBR has no boot code (bytes 0-439 are zero): a PV guest never needed it, the BIOS has nothing to run',
      fix,
    })
  }
  if (gpt) gptStage(read, size, layout, volume, plan)
  else sliceStage(read, size, layout, volume, plan)
  return plan
}

function sliceStage(read: ReadAt, size: number, layout: Layout, volume: UfsVolume | null, plan: BootPlan): void {
  const a = layout.candidates.find((c) => c.slice !== undefined && c.slice.index > 0)
  const entry = layout.table.entries.find((e) => e.index === a?.slice?.index)
  if (a?.slice === undefined || entry === undefined) {
    plan.items.push({
      id: 'slice-boot',
      status: 'blocks',
      fixed_by: 'guest',
      message: 'no FreeBSD slice with a BSD label and partition a: boot1/boot2 have no home',
      fix: 'label the slice (bsdlabel -w) inside the guest',
    })
    return
  }
  const s = a.slice.index
  if (!entry.active)
    plan.items.push({
      id: 'active-slice',
      status: 'blocks',
      fixed_by: 'guest',
      message: `slice ${s} is not marked active: the MBR code boots the active slice`,
      fix: `inside the guest: gpart set -a active -i ${s} xbd0 (this command leaves the partition table alone)`,
    })
  const start = a.slice.start
  const vbr = start + SECTOR_SIZE <= size ? read(start, SECTOR_SIZE) : Buffer.alloc(SECTOR_SIZE)
  if (hasMagic(vbr) && !isZero(vbr.subarray(0, 446))) {
    plan.items.push({ id: 'slice-boot', status: 'ok', fixed_by: 'nothing', message: `slice ${s} starts with boot1 (kept as it is)`, fix: '' })
    return
  }
  const label = layout.labels.find((l) => l.slice === s)
  const inBootArea = (label?.partitions ?? []).filter((p) => p.letter !== 'c' && p.start_in_slice !== null && p.start_in_slice > 0 && p.start_in_slice < BBSIZE / SECTOR_SIZE)
  const f = bootFile(volume, '/boot/boot', bsdBoot)
  let fix: string
  if (inBootArea.length > 0) fix = `partition ${inBootArea.map((p) => p.letter).join(', ')} starts inside the slice's 8 KiB boot area: no room for boot2 (repartition inside the guest)`
  else if ('data' in f) {
    plan.patches.push({ offset: start, data: f.data.subarray(0, SECTOR_SIZE), source: '/boot/boot', what: `boot1, sector 0 of slice ${s}` })
    plan.patches.push({ offset: start + 2 * SECTOR_SIZE, data: f.data.subarray(2 * SECTOR_SIZE), source: '/boot/boot', what: `boot2, after the label of slice ${s}` })
    fix = `--install-bootcode writes the guest's /boot/boot there as bsdlabel -B does: boot1 in sector 0, boot2 from sector 2, the label in sector 1 untouched`
  } else fix = `inside the guest: install the world's boot files (${f.missing}), then run this again with --install-bootcode`
  plan.items.push({
    id: 'slice-boot',
    status: 'blocks',
    fixed_by: inBootArea.length === 0 && 'data' in f ? 'install-bootcode' : 'guest',
    message: `slice ${s} has no boot1 in its first sector: the MBR code refuses to chain to it`,
    fix,
  })
}

function gptStage(read: ReadAt, size: number, layout: Layout, volume: UfsVolume | null, plan: BootPlan): void {
  const p = layout.table.entries.find((e) => e.type === GPT_TYPE_FREEBSD_BOOT)
  if (p === undefined) {
    plan.items.push({
      id: 'freebsd-boot',
      status: 'blocks',
      fixed_by: 'guest',
      message: 'the GPT has no freebsd-boot partition for gptboot',
      fix: 'inside the guest: gpart add -t freebsd-boot -s 512k, then run this again with --install-bootcode',
    })
    return
  }
  if (p.start + SECTOR_SIZE <= size && !isZero(read(p.start, SECTOR_SIZE))) {
    plan.items.push({ id: 'freebsd-boot', status: 'ok', fixed_by: 'nothing', message: `freebsd-boot (GPT partition ${p.index}) holds boot code (kept as it is)`, fix: '' })
    return
  }
  const room = Math.min(p.size, GPTBOOT_MAX)
  const f = bootFile(volume, '/boot/gptboot', (b) => (b.length === 0 || b.length > room ? `is ${b.length} bytes; freebsd-boot takes ${room}` : null))
  if ('data' in f) {
    const padded = Buffer.alloc(Math.ceil(f.data.length / SECTOR_SIZE) * SECTOR_SIZE)
    f.data.copy(padded)
    plan.patches.push({ offset: p.start, data: padded, source: '/boot/gptboot', what: `gptboot, GPT partition ${p.index}` })
  }
  plan.items.push({
    id: 'freebsd-boot',
    status: 'blocks',
    fixed_by: 'data' in f ? 'install-bootcode' : 'guest',
    message: `freebsd-boot (GPT partition ${p.index}) is empty`,
    fix: 'data' in f ? "--install-bootcode writes the guest's /boot/gptboot there, as gpart bootcode -p would" : `inside the guest: ${f.missing}; install the world's boot files`,
  })
}

/** The disk as it reads after the patches, for the "after" verdict. */
export function patchedReadAt(read: ReadAt, patches: readonly Patch[]): ReadAt {
  return (offset, length) => {
    const out = read(offset, length)
    for (const p of patches) {
      const from = Math.max(offset, p.offset)
      const to = Math.min(offset + length, p.offset + p.data.length)
      if (from < to) p.data.copy(out, from - offset, from - p.offset, to - p.offset)
    }
    return out
  }
}

/** Refuses a plan that would touch what must stay: a programming error, never the guest's fault. */
export function assertPreserved(plan: BootPlan): void {
  for (const p of plan.patches) {
    for (const k of plan.preserved) {
      if (p.offset < k.offset + k.length && k.offset < p.offset + p.data.length) throw new Error(`internal: ${p.what} would overwrite ${k.what}`)
    }
  }
}
