import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Region } from './data-map.js'

/**
 * Node has no lseek(SEEK_DATA/SEEK_HOLE). Python's os.lseek has, and python3 is on every
 * Debian host and CI image, so a dozen lines of it walk the file's allocated extents
 * without reading a byte: a 16 GiB image holding 1 GiB costs one process spawn
 * (~100 ms) instead of reading 15 GiB of holes. No native addon to build.
 *
 * Exit 3 means "this platform or file system cannot say"; any failure makes the caller
 * fall back to reading the whole file (data-map.ts), so the answer never changes,
 * only its cost. Linux file systems without SEEK_DATA report the whole file as one
 * data extent, which degrades to the same full read.
 */
/**
 * Python: the data extents of `fd` from `pos` up to `upto`, as (start, end) pairs, for the
 * helpers that walk a file with SEEK_DATA/SEEK_HOLE (this one, which lists them, and
 * spool-follower.ts's, which follows a growing spool). Needs errno, os and sys imported;
 * exits 3 where lseek(SEEK_DATA) cannot answer.
 */
export const PY_EXTENTS = `
def extents(fd, pos, upto):
    while pos < upto:
        try:
            s = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return
            if e.errno in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
                sys.exit(3)
            raise
        if s >= upto:
            return
        pos = min(os.lseek(fd, s, os.SEEK_HOLE), upto)
        yield s, pos
`

const HELPER = `
import errno, os, sys
${PY_EXTENTS}
if not hasattr(os, "SEEK_DATA"):
    sys.exit(3)
fd = os.open(sys.argv[1], os.O_RDONLY)
out = sys.stdout
for start, end in extents(fd, 0, int(sys.argv[2])):
    out.write("%d %d\\n" % (start, end - start))
`

export class SeekDataUnavailable extends Error {
  override name = 'SeekDataUnavailable'
}

/**
 * The file's data extents in ascending order, streamed as the helper finds them (a
 * badly fragmented file can have millions). Throws SeekDataUnavailable, possibly
 * after some extents, when the helper cannot answer; the caller then starts over.
 */
export async function* seekDataExtents(path: string, size: number, python = 'python3'): AsyncGenerator<Region> {
  // -I -S: no site packages, no PYTHON* variables: ~50 ms less start-up, and a user's
  // environment cannot change what the helper runs.
  const child = spawn(python, ['-I', '-S', '-c', HELPER, path, String(size)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString()
  })
  const exited = new Promise<string | undefined>((resolve) => {
    child.once('error', (e) => resolve(e.message))
    child.once('close', (code) => resolve(code === 0 ? undefined : code === 3 ? 'lseek(SEEK_DATA) is not supported here' : `exit ${code}: ${stderr.trim()}`))
  })
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const [offset, length] = line.split(' ').map(Number)
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) throw new SeekDataUnavailable(`unexpected helper output: ${line}`)
      yield { offset: offset!, length: length! }
    }
    const failure = await exited
    if (failure !== undefined) throw new SeekDataUnavailable(failure)
  } finally {
    if (child.exitCode === null) child.kill()
  }
}

/**
 * Extents widened to whole `block`s (the zero-detection grid, so a map found this way
 * is identical to one found by reading everything) and merged where they touch.
 */
export async function* alignExtents(extents: AsyncIterable<Region>, block: number, size: number): AsyncGenerator<Region> {
  let cur: Region | undefined
  for await (const e of extents) {
    const start = Math.floor(e.offset / block) * block
    const end = Math.min(size, Math.ceil((e.offset + e.length) / block) * block)
    if (cur && start <= cur.offset + cur.length) {
      cur.length = Math.max(cur.length, end - cur.offset)
      continue
    }
    if (cur) yield cur
    cur = { offset: start, length: end - start }
  }
  if (cur) yield cur
}
