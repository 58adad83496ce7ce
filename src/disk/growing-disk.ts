import { openSync } from 'node:fs'
import { ContainerFile, diskOf, type ContainerLayout } from './disk-file.js'
import { detect } from './detect.js'
import { openQcow2 } from './qcow2.js'
import { checkVhdFooter, dynamicVhdHead, openVhd } from './vhd.js'
import { openVmdk } from './vmdk.js'
import type { DiskFormat, Extent, VirtualDisk } from './virtual-disk.js'

/** A read of bytes xz has not written yet: wait until the spool reaches `end`, then try again. */
export class NotWritten extends Error {
  override readonly name = 'NotWritten'
  constructor(readonly end: number) {
    super(`internal: byte ${end} of the spool is not written yet`)
  }
}

/**
 * A spool xz is still writing, read as a container file: its size is the one its xz index
 * declares (every table and cluster is checked against it, as for a whole file), and a
 * read or a cluster handed out as data past what xz has written throws NotWritten. xz
 * writes sequentially and only seeks forward (spool-xz.ts), so below `frontier()` the
 * bytes are final: the frontier is the contract, and nothing past it is ever read.
 */
class GrowingFile extends ContainerFile {
  constructor(
    path: string,
    fd: number,
    size: number,
    private readonly frontier: () => number,
  ) {
    super(path, fd, size)
  }

  override read(offset: number, length: number, what: string): Buffer {
    if (offset + length <= this.size) this.ensure(offset, length)
    return super.read(offset, length, what)
  }

  override ensure(offset: number, length: number): void {
    const end = Math.min(offset + length, this.size)
    if (end > this.frontier()) throw new NotWritten(end)
  }
}

/** The spool as spool.ts knows it while xz writes it. */
export interface SpoolFront {
  spool: string
  /** The size the spool will have: what the xz index declares. */
  fileSize: number
  /** Below this byte the spool is final (the whole size once xz is done). */
  written(): number
  /** Resolves at the next stretch written, or the end; rejects with the decompression's error. */
  next(): Promise<void>
}

/**
 * A qcow2, VMDK or dynamic VHD inside xz, read while xz writes it (docs/formats.md, "Compressed images"):
 * its header and tables are read once written, and its clusters are handed out in guest
 * order as soon as their L2 table and data are below the spool's frontier. A file laid
 * out in that order (qemu-img convert, FreeBSD's mkimg) is mapped and uploaded while it
 * is decompressed; a cluster or a table further on is waited for, so any order gives the
 * same disk, only later.
 */
export interface GrowingContainer {
  format: DiskFormat
  /** The virtual disk's size. */
  size: number
  /** The spool's size once whole (what the xz index declares). */
  fileSize: number
  /** The virtual disk, for ranges extents() has yielded (their tables and data are written). */
  open(): VirtualDisk
  /** The allocated extents, ascending, one per cluster, each yielded once written; the container's bad-input errors as a whole file gives them. */
  extents(): AsyncGenerator<Extent>
}

/** Spools whose container is being read while it grows, by spool path: openDisk opens them through here. */
const growing = new Map<string, GrowingContainer>()
export const growingContainer = (spool: string): GrowingContainer | undefined => growing.get(spool)

/** Waits until the spool is written up to `end`. */
async function reach(s: SpoolFront, end: number): Promise<void> {
  while (s.written() < end) await s.next()
}

/**
 * Opens the container of a spool being written: waits for its header and tables (a
 * streamOptimized VMDK keeps its grain directory at the end: that waits for the whole
 * spool). Its refusals (a backing file, encryption…) and bad tables throw here as they
 * do for a whole file. Registered for openDisk until `until` settles.
 */
export async function openGrowing(s: SpoolFront, until: Promise<unknown>): Promise<GrowingContainer> {
  const file = (): ContainerFile => new GrowingFile(s.spool, openSync(s.spool, 'r'), s.fileSize, () => s.written())
  const layoutOf = (f: ContainerFile): ContainerLayout => {
    const head = f.read(0, 512, 'the first sector')
    const d = detect(head)
    // A dynamic VHD: its footer copy at byte 0 stands for the footer until the end is written (checked then).
    if (d.kind === 'plain' && dynamicVhdHead(head)) return openVhd(f, head)
    if (d.kind !== 'container') throw new Error(`internal: ${s.spool} is not a qcow2, VMDK or dynamic VHD`)
    return d.format === 'qcow2' ? openQcow2(f) : openVmdk(f)
  }
  const first = await retry(s, () => withFile(file(), layoutOf))
  const c: GrowingContainer = {
    format: first.format,
    size: first.size,
    fileSize: s.fileSize,
    open: () => {
      const f = file()
      try {
        return diskOf(f, layoutOf(f))
      } catch (e) {
        f.close()
        throw e
      }
    },
    extents: async function* () {
      const f = file()
      try {
        const layout = await retry(s, () => layoutOf(f))
        // The walk restarts after a wait from the end of the last extent yielded: no cluster twice, none skipped.
        let from = 0
        for (;;) {
          try {
            for (const e of layout.extents(from)) {
              const end = e.offset + e.length
              if (end <= from) continue
              yield { offset: Math.max(from, e.offset), length: end - Math.max(from, e.offset) }
              from = end
            }
            if (layout.format === 'vhd') {
              // The footer at the end must be the copy the walk trusted, as a whole file is read by it.
              await reach(s, s.fileSize)
              checkVhdFooter(f, f.read(0, 512, 'the first sector'))
            }
            return
          } catch (e) {
            if (!(e instanceof NotWritten)) throw e
            await reach(s, e.end)
          }
        }
      } finally {
        f.close()
      }
    },
  }
  growing.set(s.spool, c)
  void until.finally(() => growing.delete(s.spool)).catch(() => undefined)
  return c
}

/** `fn` until it reads nothing xz has not written yet. */
async function retry<T>(s: SpoolFront, fn: () => T): Promise<T> {
  for (;;) {
    try {
      return fn()
    } catch (e) {
      if (!(e instanceof NotWritten)) throw e
      await reach(s, e.end)
    }
  }
}

function withFile<T>(f: ContainerFile, fn: (f: ContainerFile) => T): T {
  try {
    return fn(f)
  } finally {
    f.close()
  }
}
