import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { PY_EXTENTS } from '../upload/find/seek-data.js'

/**
 * Maps a spool that xz is writing (xz-spool.ts), while it writes it: a python3 helper
 * (Node has no lseek(SEEK_DATA); seek-data.ts does the same for whole files) watches the
 * file's size, and for each new stretch below it walks the data extents with
 * SEEK_DATA/SEEK_HOLE and reads only them, reporting the `block`s that hold a non-zero
 * byte. Holes are never read: for a 16 GiB disk holding 1 GiB it reads the 1 GiB, on its
 * own core, while xz decodes.
 *
 * The extents alone would not do: xz skips only all-zero 8 KiB pieces, ends a disk
 * whose tail is zeros with one written zero byte (its last 4 KiB block is then
 * allocated), and a file system may allocate more than was written (tmpfs huge pages,
 * ZFS records); the map must equal the one of a zero scan of the disk (the image's
 * identity), so every reported block is checked.
 *
 * xz writes sequentially and seeks forward over zeros, so all below the file's size is
 * final; the helper reports whole blocks below it (`m <mark>` after the runs up to it),
 * then on `end` (xz finished) the rest. It exits when its stdin closes, so it never
 * outlives this process. Exit 3: lseek(SEEK_DATA) cannot answer here.
 */
const HELPER = `
import errno, os, select, sys
${PY_EXTENTS}
fd = os.open(sys.argv[1], os.O_RDONLY)
B = int(sys.argv[2])
every = float(sys.argv[3])
if not hasattr(os, "SEEK_DATA") or not hasattr(os, "preadv"):
    sys.exit(3)
Z = bytes(B)
buf = bytearray(max(B, 1 << 20))
out = sys.stdout
done = 0
def scan(upto):
    global done
    run = None
    covered = done
    for s, e in extents(fd, done, upto):
        # Whole blocks: one an earlier extent ended in was read already.
        b = max(s - s % B, covered)
        end = min(upto, -(-e // B) * B)
        covered = max(covered, end)
        while b < end:
            got = os.preadv(fd, [buf], b) if end - b >= len(buf) else os.preadv(fd, [memoryview(buf)[:end - b]], b)
            if not got:
                break
            for i in range(0, got, B):
                n = min(B, got - i)
                # startswith compares in place (memcmp): no copy of the block.
                if buf.startswith(Z if n == B else Z[:n], i, i + n):
                    continue
                if run and run[0] + run[1] == b + i:
                    run[1] += n
                else:
                    if run:
                        out.write("%d %d\\n" % (run[0], run[1]))
                    run = [b + i, n]
            b += got
    if run:
        out.write("%d %d\\n" % (run[0], run[1]))
    done = upto
    out.write("m %d\\n" % upto)
    out.flush()
while True:
    r, _, _ = select.select([0], [], [], every)
    if r:
        line = os.read(0, 64)
        if line.startswith(b"end"):
            scan(os.fstat(fd).st_size)
            sys.exit(0)
        if not line:
            sys.exit(0)
    size = os.fstat(fd).st_size
    if size - size % B > done:
        scan(size - size % B)
`

/** How often the helper looks at the spool's size, in seconds: a segment is sent at most this late. */
const EVERY = 0.1

export class FollowUnavailable extends Error {
  override name = 'FollowUnavailable'
}

export interface SpoolFollower {
  /** Ascending [offset, length] runs of non-zero blocks below mark(), merged (a live array). */
  readonly runs: number[]
  /** Below this offset the spool and its runs are final (but for the last run, which the next block may extend). */
  mark(): number
  /** Called after xz finished: maps the rest; resolves when the runs are final, rejects as `failed`. */
  finish(): Promise<void>
  /** Rejects when the helper cannot map (FollowUnavailable: no python3, no SEEK_DATA) or fails. */
  readonly failed: Promise<never>
  stop(): void
}

/** Follows `spool` as it grows; `onMark` after each new mark. */
export function followSpool(spool: string, block: number, onMark: () => void, python = 'python3'): SpoolFollower {
  // -I -S: no site packages, no PYTHON* variables (as seek-data.ts).
  const child = spawn(python, ['-I', '-S', '-c', HELPER, spool, String(block), String(EVERY)], { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.on('error', () => undefined) // the helper gone: reported by its exit
  const runs: number[] = []
  let mark = 0
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString()
  })
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('m ')) {
      mark = Number(line.slice(2))
      onMark()
      return
    }
    const [at, length] = line.split(' ').map(Number) as [number, number]
    const n = runs.length
    if (n && runs[n - 2]! + runs[n - 1]! === at) runs[n - 1]! += length
    else runs.push(at, length)
  })
  let stopped = false
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new FollowUnavailable(e.message)))
    child.once('close', (code) => {
      if (code === 0 || stopped) resolve()
      else if (code === 3) reject(new FollowUnavailable('lseek(SEEK_DATA) is not supported here'))
      else reject(new Error(`the spool's map helper failed (exit ${code}): ${stderr.trim()}`))
    })
  })
  const failed = exited.then(() => new Promise<never>(() => undefined))
  failed.catch(() => undefined)
  return {
    runs,
    mark: () => mark,
    finish: async () => {
      child.stdin.end('end\n')
      await exited
    },
    failed,
    stop: () => {
      stopped = true
      child.stdin.destroy()
      if (child.exitCode === null) child.kill()
    },
  }
}
