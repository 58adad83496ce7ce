import { createHash } from 'node:crypto'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEveryTest } from '../support/after-each.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import type { Simulator } from '../../mocks/simulator.js'

export const KiB = 1024
export const MiB = 1024 * KiB

const dirs: string[] = []
afterEveryTest(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'upload-'))
  dirs.push(d)
  return d
}

/** Deterministic non-zero bytes: a different pattern per seed, no zero byte anywhere. */
export function pattern(length: number, seed: number): Buffer {
  // One xorshift step per 4 bytes, not per byte: the suite draws ~100 MiB of these, and
  // byte by byte it cost ~1.6 s of CPU. Every byte of a word has its low bit set.
  const words = new Uint32Array(Math.ceil(length / 4))
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    words[i] = x | 0x01010101
  }
  return Buffer.from(words.buffer, 0, length)
}

/**
 * Data xz compresses fast: one 64 KiB block of `pattern` repeated, each 64 KiB stamped with
 * its own number (and the seed) so no two are equal. For tests where the bytes are only
 * carried, compared and hashed: xz -1 of 7.5 MiB of random bytes cost 3.6 s of CPU here.
 */
export function clusters(length: number, seed: number): Buffer {
  const block = pattern(64 * KiB, seed)
  const out = Buffer.alloc(length)
  for (let at = 0, n = 0; at < length; at += block.length, n++) {
    block.copy(out, at)
    out.writeUInt32LE(seed * 65536 + n, at)
  }
  return out
}

/** A sparse file of `size` bytes: only the pieces are written, the rest are holes. */
export async function writeSparse(path: string, size: number, pieces: { offset: number; data: Buffer }[]): Promise<void> {
  const fh = await open(path, 'w')
  try {
    await fh.truncate(size)
    for (const p of pieces) await fh.write(p.data, 0, p.data.length, p.offset)
  } finally {
    await fh.close()
  }
}

/** `count` pieces of `length` bytes spread evenly over the image (none at 0, so the map has a leading hole). */
export function scattered(size: number, count: number, length: number, seed = 1): { offset: number; data: Buffer }[] {
  const step = Math.floor(size / (count + 1))
  return Array.from({ length: count }, (_, i) => ({ offset: step * (i + 1) - ((step * (i + 1)) % 4096) + 1000, data: pattern(length, seed + i) }))
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
export const fileSha256 = async (path: string): Promise<string> => sha256(await readFile(path))

/** sha256 of the VDI's first `n` bytes, read back through GET /export_raw_vdi. */
export async function exportSha256(sim: Simulator, x: XapiConnection, vdi: string, n: number): Promise<string> {
  const res = await fetch(`${sim.url}export_raw_vdi?session_id=${x.sessionId}&vdi=${vdi}&format=raw`)
  const h = createHash('sha256')
  let seen = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const take = Math.min(chunk.length, n - seen)
    h.update(chunk.subarray(0, take))
    seen += take
    if (seen >= n) break
  }
  return h.digest('hex')
}

export async function createVdi(x: XapiConnection, sim: Simulator, size: number, otherConfig: Record<string, string> = {}): Promise<string> {
  return x.call<string>('VDI.create', {
    name_label: 'upload-test',
    name_description: '',
    SR: sim.inventory.localSr,
    virtual_size: size,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: otherConfig,
    xenstore_data: {},
    sm_config: {},
    tags: [],
  })
}
