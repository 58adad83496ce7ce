import { type ContainerFile, pushPiece, type ContainerLayout } from './disk-file.js'
import { MAX_VIRTUAL_SIZE, type Piece } from './virtual-disk.js'

export const VMDK_MAGIC = Buffer.from('KDMV')
const GD_AT_END = 0xffffffffffffffffn
const FLAG_ZERO_GRAIN = 1 << 2
const FLAG_COMPRESSED = 1 << 16
const ZERO_GRAIN = 1
/** Grain tables kept in memory (each 2 KiB for the usual 512 entries). */
const GT_CACHE = 1024

/**
 * VMDK hosted sparse extents (VMware's Virtual Disk Format 5.0): monolithicSparse and
 * streamOptimized, one file whose grain directory and tables map each grain to sectors
 * of the file, or to deflate-compressed grains (zlib format, after a 12-byte marker).
 * A streamOptimized file keeps its real header in the footer 1 KiB before the end.
 * Split, flat and differencing (parent) layouts are refused with the reason.
 */
export function openVmdk(f: ContainerFile): ContainerLayout {
  let h = f.read(0, 512, 'the VMDK header')
  let hAt = 0
  const version = h.readUInt32LE(4)
  if (version < 1 || version > 3) f.fail(4, `VMDK sparse version ${version} is not 1, 2 or 3`)
  if (h.readBigUInt64LE(56) === GD_AT_END) {
    // streamOptimized: footer marker, the footer (magic + header), end-of-stream marker.
    if (f.size < 1536 + 512) f.fail(f.size, 'the streamOptimized VMDK is too short to hold its footer: truncated?')
    hAt = f.size - 1024
    h = f.read(hAt, 512, 'the VMDK footer')
    const marker = f.read(f.size - 1536, 512, 'the VMDK footer marker')
    if (!h.subarray(0, 4).equals(VMDK_MAGIC) || marker.readUInt32LE(12) !== 3) f.fail(hAt, 'the streamOptimized VMDK has no footer where its header says (the last 1536 bytes): truncated?')
  }
  const flags = h.readUInt32LE(8)
  const capacity = h.readBigUInt64LE(12)
  const grainSectors = h.readBigUInt64LE(20)
  if (capacity * 512n > BigInt(MAX_VIRTUAL_SIZE)) f.fail(hAt + 12, `the capacity of ${capacity} sectors is absurd: a corrupt header`)
  if (grainSectors < 1n || grainSectors > 1n << 18n || (grainSectors & (grainSectors - 1n)) !== 0n) f.fail(hAt + 20, `the grain size of ${grainSectors} sectors is not a power of two up to 128 MiB`)
  const size = Number(capacity) * 512
  const grain = Number(grainSectors) * 512
  checkDescriptor(f, h)
  const perGt = h.readUInt32LE(44)
  if (perGt < 1 || perGt > 65536) f.fail(hAt + 44, `${perGt} entries per grain table is absurd`)
  const gdAt = Number(h.readBigUInt64LE(56)) * 512
  const compressed = (flags & FLAG_COMPRESSED) !== 0
  if (compressed && h.readUInt16LE(77) !== 1) f.fail(hAt + 77, `compression algorithm ${h.readUInt16LE(77)} is not deflate (1)`)
  const grains = Math.ceil(size / grain)
  const gdEntries = Math.ceil(grains / perGt)
  if (!Number.isSafeInteger(gdAt) || gdAt === 0 || gdAt + gdEntries * 4 > f.size)
    f.fail(hAt + 56, `the grain directory (${gdEntries} entries at ${gdAt}) lies past the end of the file (${f.size} bytes): truncated?`)
  const gd = f.read(gdAt, gdEntries * 4, 'the grain directory')
  const cache = new Map<number, Buffer>()
  const table = (t: number): Buffer | undefined => {
    const sector = gd.readUInt32LE(t * 4)
    if (sector === 0) return undefined
    let b = cache.get(t)
    if (!b) {
      const at = sector * 512
      if (at + perGt * 4 > f.size) f.fail(gdAt + t * 4, `grain directory entry ${t} points to ${at}, past the end of the file (${f.size} bytes): truncated?`)
      if (at < gdAt + gdEntries * 4 && gdAt < at + perGt * 4) f.fail(gdAt + t * 4, `grain table ${t} at ${at} overlaps the grain directory`)
      if (cache.size >= GT_CACHE) cache.delete(cache.keys().next().value!)
      cache.set(t, (b = f.read(at, perGt * 4, `grain table ${t}`)))
    }
    return b
  }
  /** The file offset of grain g, 0 for zeros. */
  const grainAt = (g: number): number => {
    const t = table(Math.floor(g / perGt))
    if (!t) return 0
    const sector = t.readUInt32LE((g % perGt) * 4)
    if (sector === 0 || (sector === ZERO_GRAIN && flags & FLAG_ZERO_GRAIN)) return 0
    const at = sector * 512
    const where = gd.readUInt32LE(Math.floor(g / perGt) * 4) * 512 + (g % perGt) * 4
    if (at < 512 || at >= f.size || (!compressed && at + grain > f.size))
      f.fail(where, `the grain of guest offset ${g * grain} points to ${at}, past the end of the file (${f.size} bytes) or into the header`)
    // A compressed grain's length is in its marker: its largest accepted (compressedPiece) is waited for.
    f.ensure(at, compressed ? Math.min(f.size - at, 12 + 2 * grain + 1024) : grain)
    return at
  }
  const compressedPiece = (at: number, g: number, within: number, n: number): Piece => {
    const m = f.read(at, 12, `the marker of the grain at ${at}`)
    const stored = m.readUInt32LE(8)
    if (stored > 2 * grain + 1024 || at + 12 + stored > f.size) f.fail(at + 8, `the compressed grain of guest offset ${g * grain} claims ${stored} bytes, past the end of the file or absurd`)
    return { kind: 'zlib', length: n, at: at + 12, stored, skip: within, unit: grain }
  }
  return {
    format: 'vmdk',
    size,
    extents: function* (from) {
      for (let g = Math.floor(from / grain); g < grains; g++) {
        if (g % perGt === 0 && gd.readUInt32LE((g / perGt) * 4) === 0) {
          g += perGt - 1
          continue
        }
        if (grainAt(g) !== 0) yield { offset: g * grain, length: Math.min(grain, size - g * grain) }
      }
    },
    locate: (offset, length) => {
      const out: Piece[] = []
      for (let pos = offset; pos < offset + length; ) {
        const g = Math.floor(pos / grain)
        const within = pos - g * grain
        const n = Math.min(grain - within, offset + length - pos)
        const at = grainAt(g)
        if (at === 0) pushPiece(out, { kind: 'zero', length: n })
        else if (compressed) out.push(compressedPiece(at, g, within, n))
        else pushPiece(out, { kind: 'file', length: n, at: at + within })
        pos += n
      }
      return out
    },
  }
}

/** The embedded descriptor: only one-file sparse layouts, without a parent. */
function checkDescriptor(f: ContainerFile, h: Buffer): void {
  const at = Number(h.readBigUInt64LE(28)) * 512
  const len = Math.min(Number(h.readBigUInt64LE(36)) * 512, 64 * 1024)
  if (at === 0 || len === 0 || at + len > f.size) return
  const text = f
    .read(at, len, 'the VMDK descriptor')
    .toString('latin1')
    .replace(/\0[\s\S]*$/, '')
  const type = /createType\s*=\s*"([^"]*)"/.exec(text)?.[1]
  if (type !== undefined && type !== 'monolithicSparse' && type !== 'streamOptimized')
    f.fail(at, `VMDK createType "${type}" is not monolithicSparse or streamOptimized (one self-contained file)`, `convert it: qemu-img convert -O vmdk -o subformat=streamOptimized ${f.path} out.vmdk`)
  const parent = /parentCID\s*=\s*([0-9a-fA-F]+)/.exec(text)?.[1]
  if (parent !== undefined && parent.toLowerCase() !== 'ffffffff')
    f.fail(at, 'this VMDK is a differencing disk (it names a parent): its data is partly elsewhere', `make a standalone image first: qemu-img convert -O vmdk ${f.path} standalone.vmdk`)
}
