import { readdirSync, statSync, unlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { isProcessAlive } from '../provision/process-alive.js'

interface Entry {
  spool: string
  size: number
  mtimeMs: number
}

/** Spools of this process, by the compressed file's absolute path; removed when the process exits. */
const spools = new Map<string, Entry>()
/** Spools being written, with what stops their writer (xz): stopped and removed when the process exits. */
const writing = new Map<string, () => void>()
let cleanupInstalled = false

function cleanupOnExit(): void {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.once('exit', () => {
    for (const [spool, stop] of writing) {
      stop()
      unlinkQuietly(spool)
    }
    for (const e of spools.values()) unlinkQuietly(e.spool)
  })
}

export function registerSpool(source: string, spool: string): void {
  const s = statSync(source)
  spools.set(resolve(source), { spool, size: s.size, mtimeMs: s.mtimeMs })
  cleanupOnExit()
}

/**
 * A spool being written: if the process exits meanwhile (a second Ctrl-C, process.exit),
 * `stop` runs (synchronously: it kills xz) and the spool is removed. Returns the untrack.
 */
export function whileWriting(spool: string, stop: () => void): () => void {
  writing.set(spool, stop)
  cleanupOnExit()
  return () => writing.delete(spool)
}

/** The spool of `source`, unless there is none or the source changed since. */
export function spooledFile(source: string): string | undefined {
  const e = spools.get(resolve(source))
  if (!e) return undefined
  const s = statSync(source)
  return s.size === e.size && s.mtimeMs === e.mtimeMs ? e.spool : undefined
}

/** Removes the spool now (tests, long-lived processes); the next prepareImage decompresses again. */
export function releaseSpool(source: string): void {
  const e = spools.get(resolve(source))
  if (!e) return
  spools.delete(resolve(source))
  unlinkQuietly(e.spool)
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}

/** spool.ts names a spool xcp-provision-<pid>-<ms>-<image name>.spool. */
const SPOOL_NAME = /^xcp-provision-(\d+)-\d+-.+\.spool$/

/**
 * Removes the spools in `dir` whose process is gone: a run killed with -9 cannot remove
 * its own, and a spool holds the data of a whole decompressed disk (gigabytes). Only
 * this user's regular files, and only when that process no longer exists.
 */
export function removeStaleSpools(dir: string): number {
  let removed = 0
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of names) {
    const pid = Number(SPOOL_NAME.exec(name)?.[1] ?? NaN)
    if (!Number.isInteger(pid) || pid === process.pid || isProcessAlive(pid)) continue
    const path = join(dir, name)
    try {
      const s = statSync(path)
      if (!s.isFile() || s.uid !== process.getuid?.()) continue
      unlinkSync(path)
      removed++
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed
}
