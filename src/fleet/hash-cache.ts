import { randomBytes } from 'node:crypto'
import { mkdir, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'

/**
 * The images' sha256s, remembered between rollouts (docs/fleet.md, "The image hash cache"):
 * hashing an 11 GiB image is ~10 s of CPU, and a re-rollout of the same file needs the
 * same answer. An entry is used only while the file is the very same one: same path
 * (resolved), device, inode, size, mtime and ctime to the nanosecond. ctime is set by
 * the kernel on every change of the file, a write or a `touch -d` that puts mtime back
 * included, and cannot be set by a program, so a changed image never matches.
 */

/** Bumped when what is hashed changes (how a format is read, say): older entries are then never matched. */
const VERSION = 1
/** The images hashed most recently are kept; the oldest entry goes when a new one comes. */
export const MAX_ENTRIES = 64
/**
 * An image changed this recently is hashed but not remembered: a file system stamps
 * times in ticks (a few ms on Linux, 1 or 2 s on some), and a write in the same tick
 * as the one before would leave ctime as it was (git's "racy" rule).
 */
const SETTLED_MS = 2000

const Entry = z.object({
  path: z.string(),
  dev: z.string(),
  ino: z.string(),
  size: z.string(),
  mtimeNs: z.string(),
  ctimeNs: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The virtual disk's size: a second check that the entry describes this image. */
  virtualSize: z.number(),
  hashedAt: z.number(),
})
type Entry = z.infer<typeof Entry>
const CacheFile = z.object({ version: z.literal(VERSION), entries: z.array(Entry) })

/** The file's identity: what an entry must match to be used. */
export type Identity = Omit<Entry, 'sha256' | 'virtualSize' | 'hashedAt'>

/** $XDG_CACHE_HOME/xcp-provision, else ~/.cache/xcp-provision (a relative XDG_CACHE_HOME is ignored, as the spec says). */
export function cacheDir(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_CACHE_HOME
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'xcp-provision')
}

export const cacheFile = (env: Record<string, string | undefined>): string => join(cacheDir(env), 'image-sha256.json')

export async function identify(image: string): Promise<Identity & { changedAtMs: number }> {
  const path = await realpath(image)
  const s = await stat(path, { bigint: true })
  const ns = (t: bigint): string => t.toString()
  return {
    path,
    dev: ns(s.dev),
    ino: ns(s.ino),
    size: ns(s.size),
    mtimeNs: ns(s.mtimeNs),
    ctimeNs: ns(s.ctimeNs),
    changedAtMs: Number((s.ctimeNs > s.mtimeNs ? s.ctimeNs : s.mtimeNs) / 1_000_000n),
  }
}

const same = (a: Identity, b: Identity): boolean => a.path === b.path && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs

/** The entries on disk; a missing, unreadable or corrupt file is no entries (it is rewritten on the next store). */
async function load(file: string): Promise<Entry[]> {
  try {
    const parsed = CacheFile.safeParse(JSON.parse(await readFile(file, 'utf8')))
    return parsed.success ? parsed.data.entries : []
  } catch {
    return []
  }
}

/** The sha256 remembered for this very file, or undefined. */
export async function lookup(file: string, id: Identity, virtualSize: number): Promise<string | undefined> {
  return (await load(file)).find((e) => same(e, id) && e.virtualSize === virtualSize)?.sha256
}

/**
 * Remembers `sha256` for the file whose identity was `before` when the hash began, if it
 * is still that file now (an image written while it was hashed is not remembered) and has
 * not changed in the last SETTLED_MS. Written whole to a temporary file and renamed over
 * the cache, so a reader sees the old file or the new one, never half of one. Best effort:
 * a cache that cannot be written (read-only home, full disk) costs a re-hash next time,
 * never the rollout. Returns whether it was stored.
 */
export async function store(file: string, before: Identity & { changedAtMs: number }, after: Identity, sha256: string, virtualSize: number, now = Date.now()): Promise<boolean> {
  if (!same(before, after) || now - before.changedAtMs < SETTLED_MS) return false
  const { changedAtMs: _, ...id } = before
  const entries = (await load(file)).filter((e) => !(e.path === id.path))
  entries.push({ ...id, sha256, virtualSize, hashedAt: now })
  entries.sort((a, b) => b.hashedAt - a.hashedAt)
  const dir = join(file, '..')
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeFile(tmp, `${JSON.stringify({ version: VERSION, entries: entries.slice(0, MAX_ENTRIES) })}\n`, { mode: 0o600, flag: 'wx' })
    await rename(tmp, file)
    return true
  } catch {
    await unlink(tmp).catch(() => undefined)
    return false
  }
}
