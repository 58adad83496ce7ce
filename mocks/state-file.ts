import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { Store } from './store.js'
import type { Inventory, InventoryHost } from './inventory.js'
import type { Value, XRecord } from './datamodel/model.js'
import { BLOCK, SparseDisk } from './sparse-disk.js'
import { DEFAULT_PROFILE, PROFILES, profileByName } from './profiles.js'

/**
 * --state-file: a pool's objects and VDI contents as JSON, written on shutdown (and every
 * few seconds while something changes, so a crash loses little) and read back at start, so a CI job can prepare a world once and reuse it. Sessions and tasks
 * are not kept: a restarted xapi has neither clients nor work in progress.
 */
const ValueSchema: z.ZodType<Value> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.array(ValueSchema), z.record(z.string(), ValueSchema)]))
const SavedPoolSchema = z.object({
  objects: z.record(z.string(), z.record(z.string(), z.record(z.string(), ValueSchema))),
  /** VDI ref -> size and its non-zero 64 KiB blocks, base64, by block index. */
  disks: z.record(z.string(), z.object({ size: z.number().int().min(0), blocks: z.record(z.string(), z.string()) })),
})
export const StateFileSchema = z.object({ version: z.literal(1), pools: z.array(SavedPoolSchema).min(1) })
export type SavedPool = z.infer<typeof SavedPoolSchema>
export type StateFile = z.infer<typeof StateFileSchema>

const TRANSIENT = new Set(['session', 'task'])

export class StateFileError extends Error {
  override name = 'StateFileError'
}

export function savePool(objects: Record<string, Record<string, XRecord>>, disks: Map<string, SparseDisk>): SavedPool {
  const kept = Object.fromEntries(Object.entries(objects).filter(([cls]) => !TRANSIENT.has(cls)))
  const saved: SavedPool['disks'] = {}
  for (const [ref, disk] of disks) {
    const blocks: Record<string, string> = {}
    for (const i of disk.dataBlocks()) blocks[String(i)] = disk.read(i * BLOCK, BLOCK).toString('base64')
    saved[ref] = { size: disk.size, blocks }
  }
  return { objects: kept, disks: saved }
}

/** Puts a saved pool into an empty store and rebuilds the inventory the simulator needs. */
export function restorePool(store: Store, disks: Map<string, SparseDisk>, saved: SavedPool): Inventory {
  for (const [cls, rows] of Object.entries(saved.objects)) {
    for (const [ref, record] of Object.entries(rows)) store.restore(cls, ref, record)
  }
  for (const [ref, d] of Object.entries(saved.disks)) {
    const disk = new SparseDisk(d.size)
    for (const [i, b64] of Object.entries(d.blocks)) disk.write(Number(i) * BLOCK, Buffer.from(b64, 'base64'))
    disks.set(ref, disk)
  }
  const [pool, poolRec] = store.all('pool')[0] ?? []
  if (!pool || !poolRec) throw new StateFileError('the saved state has no pool object')
  const hosts = store.all('host').map(([ref, h]): InventoryHost => {
    const pbds = store.find('PBD', (p) => p.host === ref).map(([, p]) => String(p.SR))
    const local = pbds.find((sr) => store.get('SR', sr).name_label === 'Local storage') ?? pbds[0] ?? ''
    return { ref, name: String(h.name_label), address: String(h.address), localSr: local }
  })
  const master = hosts.find((h) => h.ref === poolRec.master) ?? hosts[0]
  if (!master) throw new StateFileError('the saved state has no host')
  const networks = store.all('network').filter(([, n]) => n.bridge !== 'xenapi')
  const template = store.find('VM', (v) => v.reference_label === 'other-install-media')[0]?.[0] ?? ''
  const sharedSrs = Object.fromEntries(store.find('SR', (s) => s.shared === true).map(([ref, s]) => [String(s.name_label), ref]))
  // The release is the one the saved master says it runs.
  const sv = store.get('host', master.ref).software_version as Record<string, string>
  const profile = PROFILES.find((p) => p.software_version.product_brand === sv.product_brand && p.software_version.product_version === sv.product_version) ?? profileByName(DEFAULT_PROFILE)
  return { pool, host: master.ref, localSr: master.localSr, network: networks[0]?.[0] ?? '', template, profile, hosts, sharedSrs }
}

/** undefined when the file does not exist yet: the first run of a job builds the world. */
export function readStateFile(path: string): StateFile | undefined {
  if (!existsSync(path)) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new StateFileError(`${path}: ${(e as Error).message}`)
  }
  const parsed = StateFileSchema.safeParse(raw)
  if (!parsed.success) throw new StateFileError(`${path}: not a simulator state file (${parsed.error.issues[0]?.message ?? 'invalid'})`)
  return parsed.data
}

/**
 * Written beside the target, flushed to disk, then renamed over it: a crash or kill at
 * any moment leaves either the previous file or the new one, never half of one. The
 * temporary name carries the pid, so two simulators sharing a path never write into
 * each other's temporary file.
 */
export function writeStateFile(path: string, pools: SavedPool[]): void {
  const state: StateFile = { version: 1, pools }
  const tmp = `${path}.${process.pid}.tmp`
  try {
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, JSON.stringify(state))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
  // The rename itself survives a power cut only once the directory is flushed too.
  try {
    const dir = openSync(dirname(path), 'r')
    try {
      fsyncSync(dir)
    } finally {
      closeSync(dir)
    }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}
