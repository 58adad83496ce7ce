import { ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_LONG_NAME, ATTR_VOLUME_ID, DIRENT_SIZE, shortNameChecksum } from './fat-dir.js'
import { FAT12_MAX_CLUSTERS, FAT16_MAX_CLUSTERS, type FatType } from './fat-boot.js'
import { normalizeExtents, type Extent } from './extents.js'

export interface FatBuildOptions {
  /** Volume size in bytes (whole 512-byte sectors are used). */
  size: number
  type: FatType
  sectorsPerCluster?: number
  /** Up to 11 characters, stored upper-case, as mkfs.fat -n does. */
  label?: string
  /** Store the label as given: cloud-init config drives are labelled lower-case "cidata", as Xen Orchestra writes them. */
  keepLabelCase?: boolean
  volumeId?: number
  /** Absolute paths to contents; directories are created as needed. */
  files: Readonly<Record<string, Buffer>>
}

const SECTOR = 512
/** 1980-01-01 00:00, the FAT epoch: a fixed stamp keeps images reproducible. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1

interface Node {
  name: string
  dir: boolean
  data?: Buffer
  children: Map<string, Node>
  cluster: number
}

/** A short name for `name`: itself when it is a valid upper-case 8.3 name, else a ~N alias. */
function shortFor(name: string, taken: Set<string>): { short: Buffer; needsLong: boolean } {
  const valid = /^[A-Z0-9_$~!#%&'(){}^@`-]{1,8}(\.[A-Z0-9_$~!#%&'(){}^@`-]{1,3})?$/
  const pack = (base: string, ext: string): Buffer => Buffer.from(base.padEnd(8, ' ') + ext.padEnd(3, ' '), 'latin1')
  if (valid.test(name)) {
    const [base = '', ext = ''] = name.split('.')
    taken.add(name)
    return { short: pack(base, ext), needsLong: false }
  }
  const clean = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9_$~!#%&'(){}^@`-]/g, '_')
  const dot = name.lastIndexOf('.')
  const base = clean(dot > 0 ? name.slice(0, dot) : name).replace(/^\.+/, '')
  const ext = clean(dot > 0 ? name.slice(dot + 1) : '').slice(0, 3)
  for (let n = 1; n < 1000000; n++) {
    const tail = `~${n}`
    const b = base.slice(0, 8 - tail.length) + tail
    const key = ext === '' ? b : `${b}.${ext}`
    if (!taken.has(key)) {
      taken.add(key)
      return { short: pack(b, ext), needsLong: true }
    }
  }
  throw new RangeError(`no short name left for ${name}`)
}

function dirent(short: Buffer, attr: number, cluster: number, size: number): Buffer {
  const e = Buffer.alloc(DIRENT_SIZE)
  short.copy(e, 0)
  e.writeUInt8(attr, 11)
  e.writeUInt16LE(DOS_DATE, 16) // creation date
  e.writeUInt16LE(DOS_DATE, 18) // last access
  e.writeUInt16LE(cluster >>> 16, 20)
  e.writeUInt16LE(DOS_DATE, 24) // write date
  e.writeUInt16LE(cluster & 0xffff, 26)
  e.writeUInt32LE(size, 28)
  return e
}

/** The long-name entries for `name`, last part first, as they precede the short entry. */
function longEntries(name: string, short: Buffer): Buffer[] {
  if (name.length > 255) throw new RangeError(`file name longer than 255 characters: ${name}`)
  const units = [...name].map((c) => c.charCodeAt(0))
  const count = Math.ceil(units.length / 13)
  const padded = [...units, ...(units.length % 13 === 0 ? [] : [0])]
  while (padded.length < count * 13) padded.push(0xffff)
  const sum = shortNameChecksum(short)
  const out: Buffer[] = []
  for (let ord = count; ord >= 1; ord--) {
    const e = Buffer.alloc(DIRENT_SIZE)
    e.writeUInt8(ord | (ord === count ? 0x40 : 0), 0)
    e.writeUInt8(ATTR_LONG_NAME, 11)
    e.writeUInt8(sum, 13)
    const part = padded.slice((ord - 1) * 13, ord * 13)
    part.forEach((u, i) => e.writeUInt16LE(u, i < 5 ? 1 + 2 * i : i < 11 ? 14 + 2 * (i - 5) : 28 + 2 * (i - 11)))
    out.push(e)
  }
  return out
}

function buildTree(files: Readonly<Record<string, Buffer>>): Node {
  const root: Node = { name: '', dir: true, children: new Map(), cluster: 0 }
  for (const [path, data] of Object.entries(files)) {
    const parts = path.split('/').filter((p) => p !== '')
    if (!path.startsWith('/') || parts.length === 0) throw new RangeError(`path must be absolute: ${path}`)
    let dir = root
    for (const [i, name] of parts.entries()) {
      const leaf = i === parts.length - 1
      let node = dir.children.get(name.toUpperCase())
      if (node === undefined) {
        node = { name, dir: !leaf, children: new Map(), cluster: 0, ...(leaf ? { data } : {}) }
        dir.children.set(name.toUpperCase(), node)
      } else if (leaf || !node.dir) {
        throw new RangeError(`conflicting entries for ${path} (FAT names are case-insensitive)`)
      }
      dir = node
    }
  }
  return root
}

/**
 * Builds a FAT12/16/32 volume the way mkfs.fat lays one out (2 FATs, 1 reserved sector
 * or 32 on FAT32 with FSInfo at 1 and a backup boot sector at 6), holding `files`, as
 * extents relative to the volume start. Clusters are handed out in order, so files
 * are contiguous. Used for the sample ESP; fsck.fat and mdir check what it writes.
 */
export function buildFat(opts: FatBuildOptions): Extent[] {
  const totalSectors = Math.floor(opts.size / SECTOR)
  const spc = opts.sectorsPerCluster ?? (opts.type === 32 ? 1 : 4)
  const reserved = opts.type === 32 ? 32 : 1
  const rootEntries = opts.type === 32 ? 0 : 512
  const rootDirSectors = (rootEntries * 32) / SECTOR
  const entryBits = opts.type === 12 ? 12 : opts.type === 16 ? 16 : 32
  // Fixpoint: the FAT's size depends on the cluster count, which depends on the FAT's size.
  // Settles in a few rounds on the smallest FAT that maps every cluster, as mkfs.fat's does.
  const needFor = (fat: number): number => Math.ceil(Math.ceil(((Math.floor((totalSectors - reserved - 2 * fat - rootDirSectors) / spc) + 2) * entryBits) / 8) / SECTOR)
  let fatSectors = 1
  for (let i = 0; i < 16 && needFor(fatSectors) !== fatSectors; i++) fatSectors = needFor(fatSectors)
  fatSectors = Math.max(fatSectors, needFor(fatSectors))
  const firstData = reserved + 2 * fatSectors + rootDirSectors
  const clusterCount = Math.floor((totalSectors - firstData) / spc)
  const typeOf = clusterCount <= FAT12_MAX_CLUSTERS ? 12 : clusterCount <= FAT16_MAX_CLUSTERS ? 16 : 32
  if (typeOf !== opts.type) throw new RangeError(`${opts.size} bytes with ${spc} sectors per cluster gives ${clusterCount} clusters: FAT${typeOf}, not FAT${opts.type}`)
  const clusterBytes = spc * SECTOR
  const fat: number[] = [0x0ffffff8, 0x0fffffff]
  const extents: Extent[] = []
  const clusterAt = (c: number): number => (firstData + (c - 2) * spc) * SECTOR
  const place = (data: Buffer): number => {
    if (data.length === 0) return 0
    const n = Math.ceil(data.length / clusterBytes)
    const first = fat.length
    if (first + n - 2 > clusterCount) throw new RangeError('the FAT volume is full')
    for (let i = 0; i < n; i++) fat.push(i === n - 1 ? 0x0fffffff : first + i + 1)
    extents.push({ offset: clusterAt(first), data })
    return first
  }
  const root = buildTree(opts.files)
  // Directories get their clusters first (their size is known from the entry count), then contents.
  const entriesOf = (node: Node, parent: Node | null): Buffer => {
    const taken = new Set<string>()
    const list: Buffer[] = []
    if (parent !== null) {
      list.push(dirent(Buffer.from('.          ', 'latin1'), ATTR_DIRECTORY, node.cluster, 0))
      list.push(dirent(Buffer.from('..         ', 'latin1'), ATTR_DIRECTORY, parent === root ? 0 : parent.cluster, 0))
    } else if (opts.label !== undefined) {
      list.push(dirent(Buffer.from(labelText(opts, opts.label), 'latin1'), ATTR_VOLUME_ID, 0, 0))
    }
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const { short, needsLong } = shortFor(child.name, taken)
      if (needsLong) list.push(...longEntries(child.name, short))
      list.push(dirent(short, child.dir ? ATTR_DIRECTORY : ATTR_ARCHIVE, child.cluster, child.dir ? 0 : (child.data?.length ?? 0)))
    }
    return Buffer.concat(list)
  }
  const dirs: Node[] = []
  const walk = (n: Node): void => {
    for (const c of n.children.values())
      if (c.dir) {
        dirs.push(c)
        walk(c)
      }
  }
  walk(root)
  // Pass 1: cluster numbers. Directory sizes do not depend on cluster numbers, so sizes are exact.
  const sizeOf = (n: Node, p: Node | null): number => Math.max(clusterBytes, Math.ceil(entriesOf(n, p).length / clusterBytes) * clusterBytes)
  const parentOf = new Map<Node, Node>()
  const mapParents = (n: Node): void => {
    for (const c of n.children.values()) {
      parentOf.set(c, n)
      if (c.dir) mapParents(c)
    }
  }
  mapParents(root)
  if (opts.type === 32) root.cluster = place(Buffer.alloc(sizeOf(root, null)))
  for (const d of dirs) d.cluster = place(Buffer.alloc(sizeOf(d, parentOf.get(d) ?? root)))
  const files: Node[] = []
  const walkFiles = (n: Node): void => {
    for (const c of n.children.values()) c.dir ? walkFiles(c) : files.push(c)
  }
  walkFiles(root)
  for (const f of files) f.cluster = place(f.data ?? Buffer.alloc(0))
  // Pass 2: directory contents with the final cluster numbers, over the placeholders.
  const fill = (n: Node, p: Node | null): void => {
    const data = entriesOf(n, p)
    const at = extents.findIndex((e) => e.offset === clusterAt(n.cluster))
    const buf = Buffer.alloc(sizeOf(n, p))
    data.copy(buf)
    extents[at] = { offset: clusterAt(n.cluster), data: buf }
  }
  const rootData = entriesOf(root, null)
  if (opts.type === 32) fill(root, null)
  else {
    if (rootData.length > rootEntries * 32) throw new RangeError('too many entries for the FAT12/16 root directory')
    extents.push({ offset: (reserved + 2 * fatSectors) * SECTOR, data: rootData })
  }
  for (const d of dirs) fill(d, parentOf.get(d) ?? root)

  const fatBuf = Buffer.alloc(fatSectors * SECTOR)
  const media = 0xf8
  fat[0] = (opts.type === 12 ? 0xf00 : opts.type === 16 ? 0xff00 : 0x0fffff00) | media
  fat.forEach((v, n) => {
    if (opts.type === 32) fatBuf.writeUInt32LE(v & 0x0fffffff, n * 4)
    else if (opts.type === 16) fatBuf.writeUInt16LE(v & 0xffff, n * 2)
    else {
      const at = n + (n >> 1)
      const cur = fatBuf.readUInt16LE(at)
      const v12 = v & 0xfff
      fatBuf.writeUInt16LE(n & 1 ? (cur & 0x000f) | (v12 << 4) : (cur & 0xf000) | v12, at)
    }
  })
  for (let i = 0; i < 2; i++) extents.push({ offset: (reserved + i * fatSectors) * SECTOR, data: fatBuf })
  const boot = bootSector(opts, { totalSectors, spc, reserved, rootEntries, fatSectors, rootCluster: root.cluster, media })
  extents.push({ offset: 0, data: boot })
  if (opts.type === 32) {
    const free = clusterCount - (fat.length - 2)
    const info = fsInfo(free, fat.length)
    extents.push({ offset: SECTOR, data: info }, { offset: 6 * SECTOR, data: boot }, { offset: 7 * SECTOR, data: info })
  }
  return normalizeExtents(extents, totalSectors * SECTOR)
}

const labelText = (opts: FatBuildOptions, label: string): string => (opts.keepLabelCase ? label : label.toUpperCase()).slice(0, 11).padEnd(11, ' ')

interface BootFields {
  totalSectors: number
  spc: number
  reserved: number
  rootEntries: number
  fatSectors: number
  rootCluster: number
  media: number
}

function bootSector(opts: FatBuildOptions, f: BootFields): Buffer {
  const b = Buffer.alloc(SECTOR)
  Buffer.from([0xeb, opts.type === 32 ? 0x58 : 0x3c, 0x90]).copy(b, 0)
  b.write('XCPPROV ', 3, 'latin1')
  b.writeUInt16LE(SECTOR, 11)
  b.writeUInt8(f.spc, 13)
  b.writeUInt16LE(f.reserved, 14)
  b.writeUInt8(2, 16)
  b.writeUInt16LE(f.rootEntries, 17)
  b.writeUInt16LE(f.totalSectors < 0x10000 && opts.type !== 32 ? f.totalSectors : 0, 19)
  b.writeUInt8(f.media, 21)
  b.writeUInt16LE(opts.type === 32 ? 0 : f.fatSectors, 22)
  b.writeUInt16LE(63, 24) // sectors per track and heads: informational, mkfs.fat's defaults
  b.writeUInt16LE(255, 26)
  b.writeUInt32LE(f.totalSectors < 0x10000 && opts.type !== 32 ? 0 : f.totalSectors, 32)
  let ext = 36
  if (opts.type === 32) {
    b.writeUInt32LE(f.fatSectors, 36)
    b.writeUInt32LE(f.rootCluster, 44)
    b.writeUInt16LE(1, 48) // FSInfo sector
    b.writeUInt16LE(6, 50) // backup boot sector
    ext = 64
  }
  b.writeUInt8(0x80, ext)
  b.writeUInt8(0x29, ext + 2)
  b.writeUInt32LE((opts.volumeId ?? 0x1234abcd) >>> 0, ext + 3)
  b.write(labelText(opts, opts.label ?? 'NO NAME'), ext + 7, 'latin1')
  b.write(`FAT${opts.type}`.padEnd(8, ' '), ext + 18, 'latin1')
  b.writeUInt16LE(0xaa55, 510)
  return b
}

function fsInfo(free: number, nextFree: number): Buffer {
  const b = Buffer.alloc(SECTOR)
  b.writeUInt32LE(0x41615252, 0)
  b.writeUInt32LE(0x61417272, 484)
  b.writeUInt32LE(free, 488)
  b.writeUInt32LE(nextFree, 492)
  b.writeUInt32LE(0xaa550000, 508)
  return b
}
