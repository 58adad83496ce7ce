import { type ContainerFile, pushPiece, type ContainerLayout } from './disk-file.js'
import { MAX_VIRTUAL_SIZE, type Extent, type Piece } from './virtual-disk.js'

export const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]) // "QFI\xfb"

/** Incompatible feature bits (qemu docs/interop/qcow2.txt) and what they mean for a reader. */
const DIRTY = 1
const CORRUPT = 2
const EXTERNAL_DATA = 4
const COMPRESSION_TYPE = 8
const EXTENDED_L2 = 16
/** L2 tables kept in memory: enough for a sequential pass, bounded for 2 MiB clusters. */
const L2_CACHE_BYTES = 16 * 1024 * 1024

type Entry = { kind: 'zero' } | { kind: 'data'; at: number } | { kind: 'compressed'; at: number; stored: number }

/**
 * qcow2 versions 2 and 3 (qemu's docs/interop/qcow2.txt): the L1/L2 tables map each
 * guest cluster to a host cluster, a compressed (raw deflate) cluster, or nothing.
 * Refused with the reason: a backing file (the data is elsewhere), encryption,
 * an external data file, zstd compression, extended L2 entries, a corrupt flag.
 * Snapshots and refcounts are not needed to read the active image and are ignored.
 */
export function openQcow2(f: ContainerFile): ContainerLayout {
  const h = f.read(0, 104, 'the qcow2 header')
  const version = h.readUInt32BE(4)
  if (version !== 2 && version !== 3) f.fail(4, `qcow2 version ${version} is not 2 or 3`)
  const clusterBits = h.readUInt32BE(20)
  if (clusterBits < 9 || clusterBits > 21) f.fail(20, `cluster_bits ${clusterBits} is outside 9..21`)
  const cluster = 2 ** clusterBits
  const size = readU64(f, h, 24, 'size')
  if (size > MAX_VIRTUAL_SIZE) f.fail(24, `the virtual size ${size} bytes is absurd (more than ${MAX_VIRTUAL_SIZE / 2 ** 40} TiB): a corrupt header`)
  const backingAt = readU64(f, h, 8, 'backing_file_offset')
  if (backingAt !== 0) {
    const len = Math.min(h.readUInt32BE(16), 1023)
    const name = backingAt + len <= f.size ? f.read(backingAt, len, 'the backing file name').toString('utf8') : '?'
    f.fail(8, `the image has a backing file ("${name}"): its data is partly in that other file`, `make a standalone image first: qemu-img convert -O qcow2 ${f.path} standalone.qcow2`)
  }
  if (h.readUInt32BE(32) !== 0) f.fail(32, `the image is encrypted (crypt_method ${h.readUInt32BE(32)})`, `decrypt it first: qemu-img convert --object secret,... -O qcow2 ${f.path} plain.qcow2`)
  if (version === 3) {
    const hi = h.readUInt32BE(72)
    const lo = h.readUInt32BE(76)
    if (hi !== 0 || lo & ~(DIRTY | CORRUPT | EXTERNAL_DATA | COMPRESSION_TYPE | EXTENDED_L2)) f.fail(72, `unknown incompatible features 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`)
    if (lo & CORRUPT) f.fail(72, 'the image is marked corrupt by qemu', `repair it: qemu-img check -r all ${f.path}`)
    if (lo & EXTERNAL_DATA) f.fail(72, 'the image keeps its data in an external data file', `make a standalone image first: qemu-img convert -O qcow2 ${f.path} standalone.qcow2`)
    if (lo & COMPRESSION_TYPE && f.read(104, 1, 'compression_type')[0] !== 0)
      f.fail(104, 'the compressed clusters use zstd, which this reader does not inflate', `recompress with zlib: qemu-img convert -O qcow2 -c -o compression_type=zlib ${f.path} out.qcow2`)
    if (lo & EXTENDED_L2) f.fail(72, 'the image uses extended L2 entries (subclusters), not supported here', `convert it: qemu-img convert -O qcow2 ${f.path} plain.qcow2`)
  }
  const l2Entries = cluster / 8
  const l1Size = h.readUInt32BE(36)
  const need = Math.ceil(size / (cluster * l2Entries))
  if (l1Size < need) f.fail(36, `the L1 table has ${l1Size} entries; a virtual size of ${size} bytes needs ${need}`)
  if (l1Size > 4 * 1024 * 1024) f.fail(36, `an L1 table of ${l1Size} entries is absurd`)
  const l1At = readU64(f, h, 40, 'l1_table_offset')
  if (l1At % cluster !== 0 || l1At === 0) f.fail(40, `the L1 table offset ${l1At} is not a non-zero multiple of the cluster size ${cluster}`)
  const l1 = f.read(l1At, need * 8, 'the L1 table')
  // Metadata that data must never overlap: the header cluster, the L1 table, the refcount table, every L2 table.
  const refAt = readU64(f, h, 48, 'refcount_table_offset')
  const reserved: Extent[] = [
    { offset: 0, length: cluster },
    { offset: l1At, length: l1Size * 8 },
    { offset: refAt, length: h.readUInt32BE(56) * cluster },
  ]
  const l2At: number[] = []
  const l2Set = new Set<number>()
  for (let i = 0; i < need; i++) {
    const off = (l1.readUInt32BE(i * 8) & 0x00ffffff) * 2 ** 32 + ((l1.readUInt32BE(i * 8 + 4) & ~0x1ff) >>> 0)
    if (off !== 0) {
      const where = l1At + i * 8
      if (off % cluster !== 0) f.fail(where, `L1 entry ${i} points to ${off}, not a multiple of the cluster size ${cluster}`)
      if (off + cluster > f.size) f.fail(where, `L1 entry ${i} points to an L2 table at ${off}, past the end of the file (${f.size} bytes): truncated?`)
      if (l2Set.has(off) || overlaps(reserved, off, cluster)) f.fail(where, `L1 entry ${i} points to ${off}, which overlaps another table`)
      l2Set.add(off)
    }
    l2At.push(off)
  }
  const cache = new Map<number, Buffer>()
  const table = (i: number): Buffer | undefined => {
    const at = l2At[i]!
    if (at === 0) return undefined
    let t = cache.get(at)
    if (!t) {
      if (cache.size * cluster >= L2_CACHE_BYTES) cache.delete(cache.keys().next().value!)
      cache.set(at, (t = f.read(at, cluster, `the L2 table of L1 entry ${i}`)))
    }
    return t
  }
  const csizeShift = 62 - (clusterBits - 8)
  const entry = (index: number): Entry => {
    const t = table(Math.floor(index / l2Entries))
    if (!t) return { kind: 'zero' }
    const j = index % l2Entries
    const hi = t.readUInt32BE(j * 8)
    const lo = t.readUInt32BE(j * 8 + 4)
    const where = l2At[Math.floor(index / l2Entries)]! + j * 8
    if (hi & 0x40000000) {
      // Compressed: bits 0..x-1 the host offset, x..61 the count of extra 512-byte sectors (x >= 49 here).
      const k = csizeShift - 32
      const at = (hi & (2 ** k - 1)) * 2 ** 32 + lo
      const sectors = ((hi & 0x3fffffff) >>> k) + 1
      if (at >= f.size) f.fail(where, `the compressed cluster of guest offset ${index * cluster} starts at ${at}, past the end of the file (${f.size} bytes)`)
      if (overlaps(reserved, at, 1) || l2Set.has(at - (at % cluster))) f.fail(where, `the compressed cluster of guest offset ${index * cluster} overlaps a table`)
      const stored = Math.min(sectors * 512 - (at % 512), f.size - at)
      f.ensure(at, stored)
      return { kind: 'compressed', at, stored }
    }
    const at = (hi & 0x00ffffff) * 2 ** 32 + ((lo & ~0x1ff) >>> 0)
    if (version === 3 && lo & 1) return { kind: 'zero' }
    if (at === 0) return { kind: 'zero' }
    if (at % cluster !== 0) f.fail(where, `the L2 entry of guest offset ${index * cluster} points to ${at}, not a multiple of the cluster size`)
    if (at + cluster > f.size) f.fail(where, `the L2 entry of guest offset ${index * cluster} points to ${at}, past the end of the file (${f.size} bytes): truncated?`)
    if (l2Set.has(at) || overlaps(reserved, at, cluster)) f.fail(where, `the L2 entry of guest offset ${index * cluster} points to ${at}, which overlaps a table`)
    f.ensure(at, cluster)
    return { kind: 'data', at }
  }
  const clusters = Math.ceil(size / cluster)
  return {
    format: 'qcow2',
    size,
    extents: function* (from) {
      for (let index = Math.floor(from / cluster), end = need * l2Entries; index < end; index++) {
        const i = Math.floor(index / l2Entries)
        if (l2At[i] === 0) {
          index = (i + 1) * l2Entries - 1
          continue
        }
        if (index >= clusters) {
          if (entry(index).kind !== 'zero') f.fail(l2At[i]! + (index % l2Entries) * 8, `guest cluster ${index} holds data past the virtual size (${size} bytes)`)
          continue
        }
        if (entry(index).kind !== 'zero') yield { offset: index * cluster, length: Math.min(cluster, size - index * cluster) }
      }
    },
    locate: (offset, length) => {
      const out: Piece[] = []
      for (let pos = offset; pos < offset + length; ) {
        const index = Math.floor(pos / cluster)
        const within = pos - index * cluster
        const n = Math.min(cluster - within, offset + length - pos)
        const e = entry(index)
        if (e.kind === 'zero') pushPiece(out, { kind: 'zero', length: n })
        else if (e.kind === 'data') pushPiece(out, { kind: 'file', length: n, at: e.at + within })
        else out.push({ kind: 'deflate', length: n, at: e.at, stored: e.stored, skip: within, unit: cluster })
        pos += n
      }
      return out
    },
  }
}

function readU64(f: ContainerFile, b: Buffer, at: number, what: string): number {
  const v = b.readBigUInt64BE(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) f.fail(at, `${what} ${v} is absurd`)
  return Number(v)
}

const overlaps = (ranges: readonly Extent[], at: number, length: number): boolean => ranges.some((r) => r.length > 0 && at < r.offset + r.length && r.offset < at + length)
