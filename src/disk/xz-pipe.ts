import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs'
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { UserError } from '../errors.js'

/** xz's output is read into one buffer of this size, reused read after read. */
const READ_BUFFER = 1024 * 1024

/**
 * Decompresses `source` (the bytes of `path`) with the system's xz (liblzma, C,
 * multi-threaded where the file has blocks: as fast as the reference, bounded memory, no
 * native addon to build; docs/formats.md) and hands its output to `take`, synchronously,
 * in pieces valid only during the call. Resolves when xz has finished and every byte was
 * taken; rejects with take's error (xz is stopped) or xz's; `signal` stops xz.
 *
 * xz writes into a FIFO whose reading end is a socket with `onread`: every read lands in
 * one reused buffer. child.stdout gives a fresh Buffer per read instead, 64 KiB (the pipe's
 * size) at a time: for a 16 GiB raw.xz 262144 Buffers, and the GC work for them cost as
 * much CPU as xz's own decoding (docs/upload.md, "Published formats"). Where mkfifo is
 * missing, child.stdout it is.
 */
export async function xzDecompress(path: string, source: Readable, take: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
  const fifo = openFifo()
  let child: ChildProcess
  try {
    child = spawn('xz', ['-dc', '-T0', '-q'], { stdio: ['pipe', fifo?.write ?? 'pipe', 'pipe'] })
  } finally {
    // xz holds its own copy: the reading end sees the end of the data when xz exits.
    if (fifo) closeSync(fifo.write)
  }
  // Stopped from outside (a run that failed while the upload followed the spool): xz goes at once.
  const stopXz = (): void => void child.kill()
  signal?.addEventListener('abort', stopXz, { once: true })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString().slice(0, 2000)))
  source.pipe(child.stdin!)
  child.stdin!.on('error', () => undefined) // xz exiting early: reported by its exit status below
  const failed = new Promise<Error | undefined>((resolve) => {
    child.once('error', (e) => resolve(noXz(e)))
    child.once('close', (code) =>
      resolve(
        code === 0
          ? undefined
          : new UserError({
              code: 'image-unreadable',
              what: `Cannot decompress ${path}`,
              why: `xz -dc failed (exit ${code}): ${stderr.trim() || 'no message'}`,
              fix: 'the file is truncated or damaged: download it again and check its published sha256',
            }),
      ),
    )
  })
  try {
    if (fifo) await readInto(fifo.read, take)
    else for await (const c of child.stdout! as AsyncIterable<Buffer>) take(c)
    const e = await failed
    if (e) throw e
  } finally {
    signal?.removeEventListener('abort', stopXz)
    if (child.exitCode === null) child.kill()
    source.destroy()
  }
}

/** A FIFO, both ends open, its name already removed; undefined where mkfifo cannot make one. */
function openFifo(): { read: number; write: number } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'xcp-provision-xz-'))
  try {
    const name = join(dir, 'out')
    try {
      execFileSync('mkfifo', ['-m', '600', name], { stdio: 'ignore' })
    } catch {
      return undefined
    }
    // The reading end first, non-blocking: opening the writing end then does not wait.
    const read = openSync(name, constants.O_RDONLY | constants.O_NONBLOCK)
    return { read, write: openSync(name, constants.O_WRONLY) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Reads `fd` (a pipe) to its end into one reused buffer; take's error stops the reading. */
function readInto(fd: number, take: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let error: unknown
    // onread is taken by the constructor too (Node's net.js), though @types/node lists it for connect() only.
    const opts: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd,
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Uint8Array): boolean => {
          try {
            take(Buffer.from(buf.buffer, buf.byteOffset, n))
            return true
          } catch (e) {
            error ??= e
            sock.destroy()
            return false
          }
        },
      },
    }
    const sock = new Socket(opts)
    sock.on('error', (e) => (error ??= e))
    sock.once('close', () => (error === undefined ? resolve() : reject(error)))
  })
}

export function noXz(e: NodeJS.ErrnoException): Error {
  if (e.code === 'ENOENT')
    return new UserError({
      what: 'Cannot decompress an xz image',
      why: 'the xz command is not installed',
      fix: 'install it (Debian/Ubuntu: apt-get install xz-utils; macOS: brew install xz), or decompress the image yourself: xz -dk <file>',
    })
  return e
}

/** The uncompressed size from the xz index (xz --robot --list), read without decompressing. */
export function xzDeclaredSize(path: string): number | undefined {
  const r = spawnSync('xz', ['--robot', '--list', path], { encoding: 'utf8' })
  if (r.error) throw noXz(r.error as NodeJS.ErrnoException)
  if (r.status !== 0)
    throw new UserError({
      code: 'image-unreadable',
      what: `Cannot read ${path}`,
      why: `xz --list: ${r.stderr.trim()}`,
      fix: 'the file is truncated or damaged: download it again and check its published sha256',
    })
  const totals = r.stdout.split('\n').find((l) => l.startsWith('totals\t'))
  const size = Number(totals?.split('\t')[4])
  return Number.isSafeInteger(size) ? size : undefined
}
