import { statSync, unlinkSync } from 'node:fs'
import { resolve } from 'node:path'

interface Entry {
  spool: string
  size: number
  mtimeMs: number
}

/** Spools of this process, by the compressed file's absolute path; removed when the process exits. */
const spools = new Map<string, Entry>()
let cleanupInstalled = false

export function registerSpool(source: string, spool: string): void {
  const s = statSync(source)
  spools.set(resolve(source), { spool, size: s.size, mtimeMs: s.mtimeMs })
  if (!cleanupInstalled) {
    cleanupInstalled = true
    process.once('exit', () => {
      for (const e of spools.values()) unlinkQuietly(e.spool)
    })
  }
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
