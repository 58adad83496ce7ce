import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { XapiConnection } from '../../xapi/connection.js'
import * as VDI from '../../xapi/vdi.js'
import type { DataMap } from '../find/data-map.js'

/**
 * Upload checkpoints live in the VDI's own other_config, so a re-run from any machine
 * that can see the VDI finds them, and they go when the VDI goes.
 *
 * IMAGE_KEY is the identity of the image the VDI is receiving: its size, a sha256 of
 * its data map (where the non-zero 64 KiB blocks are) and a sha256 of its content (over
 * the sha256 of every region, computed while the map was taken). OFFSET_KEY is the
 * image offset below which the VDI holds the image, always at a region boundary. A
 * re-run resumes only onto the same identity: one changed byte anywhere in the image,
 * and it starts over. No local state, nothing to re-read: the identity is recomputed
 * from the image by the map every run takes anyway. Segment boundaries are not part of
 * it, so the segment size is free to change between runs.
 */
export const IMAGE_KEY = 'xcp-provision:upload:image'
export const OFFSET_KEY = 'xcp-provision:upload:offset'

const hex = z.string().regex(/^[0-9a-f]{64}$/)
const count = z.number().int().min(0)

export const UploadIdentity = z.object({ v: z.literal(2), size: count, map: hex, data: hex }).strict()
export type UploadIdentity = z.infer<typeof UploadIdentity>

export const Checkpoint = z.object({ offset: count }).strict()
export type Checkpoint = z.infer<typeof Checkpoint>

export type Layout = Pick<UploadIdentity, 'size' | 'map'>

/** Where the image's data is: size and a sha256 of its regions, from the map alone. */
export function layoutOf(map: DataMap): Layout {
  const h = createHash('sha256')
  const rec = Buffer.alloc(16)
  for (const r of map.regions) {
    rec.writeBigUInt64LE(BigInt(r.offset), 0)
    rec.writeBigUInt64LE(BigInt(r.length), 8)
    h.update(rec)
  }
  return { size: map.size, map: h.digest('hex') }
}

/** The image's identity: its layout and a sha256 over its regions' sha256s (region-hashes.ts). */
export const identityOf = (map: DataMap, regionHashes: Buffer): UploadIdentity => ({
  v: 2,
  ...layoutOf(map),
  data: createHash('sha256').update(regionHashes).digest('hex'),
})

/** Same non-zero blocks in the same places: rewriting all of them overwrites every block an earlier upload wrote. */
export const sameLayout = (a: Layout, b: Layout): boolean => a.size === b.size && a.map === b.map

export const sameIdentity = (a: UploadIdentity, b: UploadIdentity): boolean => sameLayout(a, b) && a.data === b.data

/** Reads both keys; anything missing or malformed reads as absent, which means "start over". */
export function parseCheckpoint(otherConfig: Record<string, string>): { identity?: UploadIdentity; checkpoint?: Checkpoint } {
  return { identity: parseJson(UploadIdentity, otherConfig[IMAGE_KEY]), checkpoint: parseJson(Checkpoint, otherConfig[OFFSET_KEY]) }
}

function parseJson<T extends z.ZodType>(schema: T, text: string | undefined): z.infer<T> | undefined {
  if (text === undefined) return undefined
  try {
    const r = schema.safeParse(JSON.parse(text))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/**
 * Replaces one key, xe's way (add_to_* refuses an existing key). A crash between the
 * two calls leaves the key absent, which reads as "start over": never a wrong resume.
 */
async function put(x: XapiConnection, vdi: string, current: Record<string, string>, key: string, value: string): Promise<void> {
  if (key in current) await VDI.remove_from_other_config(x, vdi, key)
  await VDI.add_to_other_config(x, vdi, key, value)
  current[key] = value
}

export async function writeIdentity(x: XapiConnection, vdi: string, current: Record<string, string>, id: UploadIdentity): Promise<void> {
  await put(x, vdi, current, IMAGE_KEY, JSON.stringify(id))
}

export async function writeCheckpoint(x: XapiConnection, vdi: string, current: Record<string, string>, c: Checkpoint): Promise<void> {
  await put(x, vdi, current, OFFSET_KEY, JSON.stringify(c))
}

/**
 * A finished VDI is no longer a partial upload: nothing may resume onto it (a guest may
 * write to it). With `keys` = [OFFSET_KEY], drops only a checkpoint that proved stale.
 */
export async function clearCheckpoint(x: XapiConnection, vdi: string, current: Record<string, string>, keys = [OFFSET_KEY, IMAGE_KEY]): Promise<void> {
  for (const key of keys) {
    if (!(key in current)) continue
    await VDI.remove_from_other_config(x, vdi, key)
    delete current[key]
  }
}
