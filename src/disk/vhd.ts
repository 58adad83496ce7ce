import { type ContainerFile, pushPiece, type ContainerLayout } from './disk-file.js'
import { MAX_VIRTUAL_SIZE, type Piece } from './virtual-disk.js'

export const VHD_COOKIE = Buffer.from('conectix')
const FIXED = 2
const DYNAMIC = 3
const DIFFERENCING = 4
const UNALLOCATED = 0xffffffff

/** The VHD footer (the last 512 bytes of the file), checked; null when there is none. */
export function vhdFooter(f: ContainerFile): Buffer | null {
  if (f.size < 512) return null
  const foot = f.read(f.size - 512, 512, 'the VHD footer')
  return foot.subarray(0, 8).equals(VHD_COOKIE) ? foot : null
}

/**
 * A dynamic VHD's first sector: the copy of its footer that dynamic disks carry at byte 0
 * (a fixed VHD has none: its only footer is at the end). With it, a VHD in xz is read while
 * xz writes it (growing-disk.ts): the copy stands for the footer until the end is written.
 */
export function dynamicVhdHead(head: Buffer): boolean {
  return head.length >= 512 && head.subarray(0, 8).equals(VHD_COOKIE) && head.readUInt32BE(60) === DYNAMIC && checksum(head.subarray(0, 512), 64) === head.readUInt32BE(64)
}

/**
 * The end of a dynamic VHD read from its footer copy (dynamicVhdHead): the footer at the
 * end must be the copy, or the disk read was not the file's. A footer that differs gives
 * the whole file's error when it has one, else says what differs.
 */
export function checkVhdFooter(f: ContainerFile, copy: Buffer): void {
  const foot = vhdFooter(f)
  if (foot?.equals(copy.subarray(0, 512))) return
  if (foot) openVhd(f, foot)
  f.fail(
    f.size - 512,
    foot ? 'the VHD footer differs from its copy at byte 0, which was read while the file was decompressed' : 'the file ends without the VHD footer its copy at byte 0 announces: truncated?',
    'decompress it first (xz -dk) and pass the .vhd: a whole file is read by the footer at its end',
  )
}

/** VHD's checksum: the ones' complement of the sum of every byte except the checksum's own four. */
function checksum(b: Buffer, at: number): number {
  let sum = 0
  for (let i = 0; i < b.length; i++) if (i < at || i >= at + 4) sum += b[i]!
  return ~sum >>> 0
}

/**
 * VHD (Microsoft's Virtual Hard Disk Image Format Specification): fixed disks are raw
 * data followed by the footer; dynamic disks map blocks through the BAT. Differencing
 * disks are refused (their data is partly in the parent). As qemu does, a block's
 * sector bitmap is not consulted: an allocated block is read whole.
 */
export function openVhd(f: ContainerFile, foot: Buffer): ContainerLayout {
  const footAt = f.size - 512
  if (checksum(foot, 64) !== foot.readUInt32BE(64)) f.fail(footAt + 64, 'the VHD footer checksum does not match: the file is truncated or damaged')
  const type = foot.readUInt32BE(60)
  if (type === DIFFERENCING) f.fail(footAt + 60, 'this is a differencing VHD: its data is partly in a parent image', `merge it first: qemu-img convert -O vpc ${f.path} standalone.vhd`)
  if (type !== FIXED && type !== DYNAMIC) f.fail(footAt + 60, `VHD disk type ${type} is not fixed (2) or dynamic (3)`)
  const size = virtualSize(f, foot, footAt)
  if (type === FIXED) {
    if (size > footAt) f.fail(footAt + 48, `the fixed VHD declares ${size} bytes but holds ${footAt}: the file is truncated`)
    return {
      format: 'vhd',
      size,
      extents: function* (from) {
        if (from < size) yield { offset: from, length: size - from }
      },
      locate: (offset, length) => [{ kind: 'file', length, at: offset }],
    }
  }
  const dataOffset = Number(foot.readBigUInt64BE(16))
  if (!Number.isSafeInteger(dataOffset) || dataOffset + 1024 > footAt) f.fail(footAt + 16, `the dynamic header offset ${dataOffset} lies past the end of the file`)
  const dh = f.read(dataOffset, 1024, 'the VHD dynamic header')
  if (dh.toString('latin1', 0, 8) !== 'cxsparse') f.fail(dataOffset, 'the VHD dynamic header has no "cxsparse" cookie')
  if (checksum(dh, 36) !== dh.readUInt32BE(36)) f.fail(dataOffset + 36, 'the VHD dynamic header checksum does not match')
  const batAt = Number(dh.readBigUInt64BE(16))
  const entries = dh.readUInt32BE(28)
  const block = dh.readUInt32BE(32)
  if (block < 512 || block > 256 * 2 ** 20 || (block & (block - 1)) !== 0) f.fail(dataOffset + 32, `the VHD block size ${block} is not a power of two between 512 bytes and 256 MiB`)
  if (entries * block < size) f.fail(dataOffset + 28, `the BAT has ${entries} entries of ${block} bytes, less than the virtual size ${size}`)
  if (!Number.isSafeInteger(batAt) || batAt + entries * 4 > footAt) f.fail(dataOffset + 16, `the BAT (${entries} entries at ${batAt}) lies past the end of the file (${f.size} bytes): truncated?`)
  const bat = f.read(batAt, entries * 4, 'the BAT')
  const bitmap = Math.ceil(block / 512 / 8 / 512) * 512
  const blocks = Math.ceil(size / block)
  const batEnd = batAt + entries * 4
  // Every allocated block must lie after the BAT and before the footer, and no two may share sectors.
  const starts: number[] = []
  for (let i = 0; i < entries; i++) {
    const s = bat.readUInt32BE(i * 4)
    if (s === UNALLOCATED) continue
    const at = s * 512
    if (i >= blocks) f.fail(batAt + i * 4, `BAT entry ${i} holds data past the virtual size (${size} bytes)`)
    if (at + bitmap + block > footAt) f.fail(batAt + i * 4, `BAT entry ${i} points to ${at}, past the end of the file (${f.size} bytes): truncated?`)
    const hits = (from: number, to: number): boolean => at < to && from < at + bitmap + block
    if (hits(0, 512) || hits(dataOffset, dataOffset + 1024) || hits(batAt, batEnd)) f.fail(batAt + i * 4, `BAT entry ${i} points to ${at}, inside the VHD's headers or BAT`)
    starts.push(at)
  }
  const sorted = [...starts].sort((a, b) => a - b)
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! < sorted[i - 1]! + bitmap + block) f.fail(batAt, `two BAT entries point to overlapping blocks (at ${sorted[i - 1]} and ${sorted[i]})`)
  const blockAt = (i: number): number | undefined => {
    const s = bat.readUInt32BE(i * 4)
    return s === UNALLOCATED ? undefined : s * 512 + bitmap
  }
  return {
    format: 'vhd',
    size,
    extents: function* (from) {
      for (let i = Math.floor(from / block); i < blocks; i++) {
        const at = blockAt(i)
        if (at === undefined) continue
        const length = Math.min(block, size - i * block)
        f.ensure(at, length)
        yield { offset: i * block, length }
      }
    },
    locate: (offset, length) => {
      const out: Piece[] = []
      for (let pos = offset; pos < offset + length; ) {
        const i = Math.floor(pos / block)
        const within = pos - i * block
        const n = Math.min(block - within, offset + length - pos)
        const at = blockAt(i)
        pushPiece(out, at === undefined ? { kind: 'zero', length: n } : { kind: 'file', length: n, at: at + within })
        pos += n
      }
      return out
    },
  }
}

/**
 * The size qemu gives the disk, so that the VDI equals `qemu-img convert -O raw`: Virtual
 * PC and old qemu ('vpc ', 'qemu') size disks by their CHS geometry unless it is the
 * largest one; every other creator (Hyper-V, XenServer's 'tap', FreeBSD's mkimg…) by
 * current_size (qemu block/vpc.c).
 */
function virtualSize(f: ContainerFile, foot: Buffer, footAt: number): number {
  const current = foot.readBigUInt64BE(48)
  if (current > BigInt(MAX_VIRTUAL_SIZE)) f.fail(footAt + 48, `the virtual size ${current} bytes is absurd: a corrupt footer`)
  const creator = foot.toString('latin1', 28, 32)
  const cyls = foot.readUInt16BE(56)
  const heads = foot[58]!
  const secs = foot[59]!
  const maxChs = cyls === 65535 && heads === 16 && secs >= 255
  if ((creator === 'vpc ' || creator === 'qemu') && !maxChs) return cyls * heads * secs * 512
  return Number(current)
}
