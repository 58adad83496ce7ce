import { check, ImageFormatError, ImagePathError } from './errors.js'
import { parseFatBootSector, type FatGeometry } from './fat-boot.js'
import { fatNameMatches, parseFatDirectory, type FatDirEntry } from './fat-dir.js'
import type { ReadAt } from './read-at.js'

export interface FatReadOptions {
  /** Refuse files larger than this (a corrupt size must not allocate gigabytes). */
  maxSize?: number
}

export interface FatFile {
  path: string
  size: number
  data: Buffer
}

const DEFAULT_MAX_SIZE = 64 * 1024 * 1024
const MAX_PATH_COMPONENTS = 64
/** A directory larger than this is corrupt (the spec caps one at 65536 entries). */
const MAX_DIR_BYTES = 65536 * 32

/** Read-only access to a FAT12/16/32 volume; `read` is relative to the start of the volume. */
export class FatVolume {
  private fatCache: Buffer | null = null

  private constructor(
    private readonly read: ReadAt,
    readonly geometry: FatGeometry,
  ) {}

  /** Opens the volume, or throws ImageFormatError if sector 0 is not a FAT boot sector. */
  static open(read: ReadAt, volumeSize: number): FatVolume {
    return new FatVolume(read, parseFatBootSector(read(0, 512), volumeSize))
  }

  /** The first FAT, read once: at most a few MiB even for a large FAT32 ESP. */
  private fat(): Buffer {
    const g = this.geometry
    this.fatCache ??= this.read(g.reservedSectors * g.bytesPerSector, g.fatSectors * g.bytesPerSector)
    return this.fatCache
  }

  /** The FAT entry of cluster `n` (fatgen103's FAT12 nibble packing included). */
  entry(n: number): number {
    const fat = this.fat()
    switch (this.geometry.type) {
      case 12: {
        const v = fat.readUInt16LE(n + (n >> 1))
        return n & 1 ? v >> 4 : v & 0xfff
      }
      case 16:
        return fat.readUInt16LE(n * 2)
      case 32:
        return fat.readUInt32LE(n * 4) & 0x0fffffff
    }
  }

  private isEnd(v: number): boolean {
    const t = this.geometry.type
    return v >= (t === 12 ? 0xff8 : t === 16 ? 0xfff8 : 0x0ffffff8)
  }

  /**
   * The clusters of a chain, in order. Every link is checked: a free or bad cluster, a
   * number outside the volume, or a loop is a damaged volume, not an endless read.
   */
  chain(first: number, limitBytes = Number.MAX_SAFE_INTEGER): number[] {
    const g = this.geometry
    const out: number[] = []
    const maxClusters = Math.min(g.clusterCount, Math.ceil(limitBytes / g.bytesPerCluster))
    for (let c = first; ; ) {
      check(c >= 2 && c <= g.clusterCount + 1, `cluster chain from ${first} reaches cluster ${c}, outside the volume`)
      check(out.length < maxClusters, `cluster chain from ${first} is longer than ${maxClusters} clusters (a loop, or a wrong size)`)
      out.push(c)
      const next = this.entry(c)
      if (this.isEnd(next)) return out
      check(next !== 0, `cluster chain from ${first} runs into free cluster ${c}`)
      c = next
    }
  }

  private clusterOffset(c: number): number {
    const g = this.geometry
    return (g.firstDataSector + (c - 2) * g.sectorsPerCluster) * g.bytesPerSector
  }

  private readChain(first: number, bytes: number): Buffer {
    const g = this.geometry
    const clusters = this.chain(first, bytes)
    const out = Buffer.alloc(bytes)
    clusters.forEach((c, i) => {
      const at = i * g.bytesPerCluster
      if (at < bytes) this.read(this.clusterOffset(c), Math.min(g.bytesPerCluster, bytes - at)).copy(out, at)
    })
    check(clusters.length * g.bytesPerCluster >= bytes, `file of ${bytes} bytes has only ${clusters.length} clusters`)
    return out
  }

  /** Entries of the root directory. */
  root(): FatDirEntry[] {
    const g = this.geometry
    if (g.type === 32) return this.directory(g.rootCluster)
    const at = (g.reservedSectors + g.numFats * g.fatSectors) * g.bytesPerSector
    return parseFatDirectory(this.read(at, g.rootEntries * 32))
  }

  /** Entries of the directory whose first cluster is `first` (0 means the root, as `..` says). */
  directory(first: number): FatDirEntry[] {
    if (first === 0) return this.root()
    const clusters = this.chain(first, MAX_DIR_BYTES)
    return parseFatDirectory(this.readChain(first, clusters.length * this.geometry.bytesPerCluster))
  }

  /** Resolves a path the way UEFI does: `/` or `\` separators, names compared case-insensitively. */
  lookup(path: string): FatDirEntry | null {
    const parts = path.split(/[/\\]/).filter((p) => p !== '')
    if (parts.length > MAX_PATH_COMPONENTS) throw new ImagePathError('ENOENT', path, `path too deep: ${path}`)
    if (parts.length === 0) return null // the root has no entry of its own
    let entries = this.root()
    let found: FatDirEntry | undefined
    for (const [i, name] of parts.entries()) {
      found = entries.find((e) => fatNameMatches(e, name))
      if (found === undefined) throw new ImagePathError('ENOENT', path, `no such file: /${parts.slice(0, i + 1).join('/')}`)
      if (i < parts.length - 1) {
        if (!found.directory) throw new ImagePathError('ENOTDIR', path, `/${parts.slice(0, i + 1).join('/')} is not a directory`)
        entries = this.directory(found.firstCluster)
      }
    }
    return found ?? null
  }

  /** Lists a directory by path (the root for `/`). */
  list(path: string): FatDirEntry[] {
    const e = this.lookup(path)
    if (e === null) return this.root()
    if (!e.directory) throw new ImagePathError('ENOTDIR', path, `${path} is not a directory`)
    return this.directory(e.firstCluster)
  }

  readFile(path: string, opts: FatReadOptions = {}): FatFile {
    const e = this.lookup(path)
    if (e === null || e.directory) throw new ImagePathError('ENOTDIR', path, `${path} is a directory`)
    const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE
    if (e.size > maxSize) throw new ImageFormatError(`${path} is ${e.size} bytes, more than the ${maxSize} allowed`)
    if (e.size === 0) return { path, size: 0, data: Buffer.alloc(0) }
    return { path, size: e.size, data: this.readChain(e.firstCluster, e.size) }
  }
}

export function openFat(read: ReadAt, volumeSize: number): FatVolume {
  return FatVolume.open(read, volumeSize)
}
