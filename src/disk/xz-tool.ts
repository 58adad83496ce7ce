import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { UserError } from '../errors.js'
import { readXzDeclaredSize, XzIndexError } from './xz-index.js'

export interface XzToFile {
  /** Compressed bytes handed to xz so far. */
  read(): number
  /** Resolves when xz has finished (undefined) or failed (its error, as the user sees it). */
  readonly exited: Promise<Error | undefined>
  /** Stops xz (the spool is not needed any more, or this process is exiting). */
  kill(): void
}

/**
 * Decompresses `path` with the system's xz straight into `out`, a regular file this
 * process opened (not in append mode). xz (5.x) then makes the file sparse itself: it
 * writes its output in 8 KiB pieces, seeks over the all-zero ones, and ends a disk whose
 * tail is zeros with one zero byte, so the file's size is the disk's. Node touches no
 * decompressed byte (docs/upload.md, "Published formats").
 *
 * xz is the reference decoder (liblzma, C, multi-threaded where the file has blocks
 * with sizes; bounded memory; no native addon to build; docs/formats.md). It checks each
 * stream against its index and fails on a mismatch. Its input is a pipe from this
 * process, not the file: if this process dies (kill -9 included), xz sees the input end
 * and stops, instead of decompressing gigabytes into a spool nobody will read.
 */
export function xzToFile(path: string, out: number): XzToFile {
  const child = spawn('xz', ['-dc', '-T0', '-q'], { stdio: ['pipe', out, 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString()
  })
  const source = createReadStream(path, { highWaterMark: 1024 * 1024 })
  let read = 0
  source.on('data', (c: Buffer | string) => (read += c.length))
  source.on('error', () => child.kill()) // the image unreadable mid-way: xz then fails
  source.pipe(child.stdin!)
  child.stdin!.on('error', () => undefined) // xz exiting early: reported by its exit status
  const exited = new Promise<Error | undefined>((resolve) => {
    child.once('error', (e) => resolve(noXz(e)))
    child.once('close', (code, signal) => {
      source.destroy()
      resolve(code === 0 ? undefined : xzFailed(path, code === null ? `killed by ${signal}` : `exit ${code}`, stderr))
    })
  })
  return {
    read: () => read,
    exited,
    kill: () => {
      source.destroy()
      if (child.exitCode === null && child.signalCode === null) child.kill()
    },
  }
}

function xzFailed(path: string, how: string, stderr: string): UserError {
  const message = stderr.trim() || 'no message'
  if (/No space left on device/i.test(message))
    return new UserError({
      code: 'no-space',
      what: `Not enough free space to decompress ${path}`,
      why: `xz -dc failed (${how}): ${message}`,
      fix: 'set TMPDIR to a file system with more room, or decompress the image yourself where there is room',
    })
  return new UserError({
    code: 'image-unreadable',
    what: `Cannot decompress ${path}`,
    why: `xz -dc failed (${how}): ${message}`,
    fix: 'the file is truncated or damaged: download it again and check its published sha256',
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

/** The uncompressed size from the xz indexes (xz-index.ts), read without decompressing. */
export function xzDeclaredSize(path: string): number {
  try {
    return readXzDeclaredSize(path)
  } catch (e) {
    if (!(e instanceof XzIndexError)) throw e
    throw new UserError({
      code: 'image-unreadable',
      what: `Cannot read ${path}`,
      why: `its xz index: ${e.message}`,
      fix: 'the file is truncated or damaged: download it again and check its published sha256',
    })
  }
}
