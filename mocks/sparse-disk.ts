import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isZero } from '../src/image/zero.js'

/**
 * A VDI's contents, kept off the heap: each disk is a chain of layers, like a VHD chain,
 * and each layer is a sparse temporary file holding the 64 KiB blocks written to it at
 * their own offsets, plus a small map saying which blocks it holds. A clone shares its
 * source's layers read-only and writes to a fresh layer of its own (copy-on-write), so
 * a 2 GiB base with 100 clones costs one file with data and 100 empty ones. An upload
 * that touches one byte per block costs disk blocks, not memory.
 */
export const BLOCK = 64 * 1024

/** What a layer says about a block: its bytes are in the layer's file, or it is zero (masking a parent). */
type Held = 'data' | 'zero'

/** Open files are few at a time: 10,000 disks must not mean 10,000 descriptors. */
const MAX_OPEN = 64
const open = new Map<string, number>()

function fdFor(path: string): number {
  let fd = open.get(path)
  if (fd !== undefined) {
    // Most recently used goes last, so the first entry is the one to close.
    open.delete(path)
    open.set(path, fd)
    return fd
  }
  // Read-write, created if missing, never truncated; not O_APPEND, which would ignore offsets.
  fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600)
  open.set(path, fd)
  if (open.size > MAX_OPEN) {
    const [oldest, ofd] = open.entries().next().value as [string, number]
    open.delete(oldest)
    closeSync(ofd)
  }
  return fd
}

function forget(path: string): void {
  const fd = open.get(path)
  if (fd !== undefined) closeSync(fd)
  open.delete(path)
  try {
    unlinkSync(path)
  } catch {
    // never written, so never created
  }
}

let fallbackDir: string | undefined
let serial = 0
/** Every directory made here, removed when the process exits however close() was skipped. */
const made = new Set<string>()
// One exit listener per process: registered again each time `made` emptied, they piled up
// in a test worker that runs file after file (MaxListenersExceededWarning: 11 exit listeners).
let exitHook = false

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xapi-sim-disks-'))
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })))
  }
  made.add(dir)
  return dir
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  made.delete(dir)
}

/** Where disks not (yet) owned by a simulator's DiskMap put their files. */
function defaultDir(): string {
  return (fallbackDir ??= makeDir())
}

class Layer {
  readonly blocks = new Map<number, Held>()
  private path: string | undefined
  private refs = 1

  /** The directory is asked for only at the first write: a simulator that never stores a byte makes none. */
  constructor(
    readonly parent: Layer | undefined,
    public dir: (() => string) | undefined,
  ) {}

  adopt(dir: () => string): void {
    if (!this.path) this.dir ??= dir
  }

  /** The layer that decides block `i`, and what it holds; undefined: a hole all the way down. */
  find(i: number): [Layer, Held] | undefined {
    for (let l: Layer | undefined = this; l; l = l.parent) {
      const held = l.blocks.get(i)
      if (held) return [l, held]
    }
    return undefined
  }

  readInto(i: number, out: Buffer, at: number, within: number, n: number): void {
    readSync(fdFor(this.path!), out, at, n, i * BLOCK + within)
  }

  writeAt(i: number, within: number, data: Buffer): void {
    this.path ??= join((this.dir ?? defaultDir)(), `layer-${process.pid}-${++serial}`)
    writeSync(fdFor(this.path), data, 0, data.length, i * BLOCK + within)
  }

  retain(): this {
    this.refs++
    return this
  }

  release(): void {
    if (--this.refs > 0) return
    if (this.path) forget(this.path)
    this.blocks.clear()
    this.parent?.release()
  }
}

export class SparseDisk {
  private top: Layer

  constructor(
    public size: number,
    top?: Layer,
  ) {
    this.top = top ?? new Layer(undefined, undefined)
  }

  /** Files go to `dir` (a simulator's own), unless this disk has written elsewhere already. */
  adopt(dir: () => string): void {
    for (let l: Layer | undefined = this.top; l; l = l.parent) l.adopt(dir)
  }

  /** Bytes of data this disk shows: the "physical utilisation" of the disk. */
  get allocated(): number {
    return this.dataBlocks().length * BLOCK
  }

  write(offset: number, data: Buffer): void {
    let pos = 0
    while (pos < data.length) {
      const abs = offset + pos
      const index = Math.floor(abs / BLOCK)
      const within = abs - index * BLOCK
      const n = Math.min(BLOCK - within, data.length - pos)
      this.writeBlock(index, within, data.subarray(pos, pos + n))
      pos += n
    }
  }

  private writeBlock(i: number, within: number, piece: Buffer): void {
    const own = this.top.blocks.get(i)
    const below = own ? undefined : this.top.parent?.find(i)
    const shows = own ?? below?.[1]
    if (isZero(piece)) {
      // Zeros on a hole change nothing; zeros over a whole block free it (or mask the parent's).
      if (shows !== 'data') return
      if (piece.length === BLOCK) {
        if (this.top.parent?.find(i)?.[1] === 'data') this.top.blocks.set(i, 'zero')
        else this.top.blocks.delete(i)
        return
      }
    }
    if (own === 'data') return this.top.writeAt(i, within, piece)
    if (piece.length === BLOCK) {
      this.top.writeAt(i, 0, piece)
    } else {
      // Copy-up: the block as it looks now, then the new bytes over it.
      const block = Buffer.alloc(BLOCK)
      if (below?.[1] === 'data') below[0].readInto(i, block, 0, 0, BLOCK)
      piece.copy(block, within)
      this.top.writeAt(i, 0, block)
    }
    this.top.blocks.set(i, 'data')
  }

  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)))
    let pos = 0
    while (pos < out.length) {
      const abs = offset + pos
      const index = Math.floor(abs / BLOCK)
      const within = abs - index * BLOCK
      const n = Math.min(BLOCK - within, out.length - pos)
      const hit = this.top.find(index)
      if (hit?.[1] === 'data') hit[0].readInto(index, out, pos, within, n)
      pos += n
    }
    return out
  }

  /** Block indexes holding data, ascending: lets export skip holes quickly. */
  dataBlocks(): number[] {
    const seen = new Set<number>()
    const out: number[] = []
    for (let l: Layer | undefined = this.top; l; l = l.parent) {
      for (const [i, held] of l.blocks) {
        if (seen.has(i)) continue
        seen.add(i)
        if (held === 'data') out.push(i)
      }
    }
    return out.sort((a, b) => a - b)
  }

  /**
   * A copy-on-write clone: both disks keep the current layer as a shared read-only
   * parent and write to new layers of their own. An empty top layer is not frozen, so
   * a hundred clones of one base leave the base's chain two layers deep.
   */
  clone(): SparseDisk {
    const dir = this.top.dir
    if (this.top.blocks.size === 0 && this.top.parent) return new SparseDisk(this.size, new Layer(this.top.parent.retain(), dir))
    const frozen = this.top
    this.top = new Layer(frozen, dir)
    return new SparseDisk(this.size, new Layer(frozen.retain(), dir))
  }

  /** Drops this disk's files (those no clone still reads). */
  dispose(): void {
    this.top.release()
    this.top = new Layer(undefined, undefined)
  }
}

/**
 * A simulator's disks by VDI ref, with a temporary directory of its own for their
 * files: a disk removed from the map gives its files back, and close() removes the rest.
 */
export class DiskMap extends Map<string, SparseDisk> {
  private made: string | undefined
  private readonly dirOf = (): string => (this.made ??= makeDir())

  /** This simulator's directory for disk files, made on first use. */
  get dir(): string {
    return this.dirOf()
  }

  override set(ref: string, disk: SparseDisk): this {
    const old = this.get(ref)
    if (old && old !== disk) old.dispose()
    disk.adopt(this.dirOf)
    return super.set(ref, disk)
  }

  override delete(ref: string): boolean {
    this.get(ref)?.dispose()
    return super.delete(ref)
  }

  close(): void {
    for (const disk of this.values()) disk.dispose()
    super.clear()
    if (this.made) removeDir(this.made)
  }
}
