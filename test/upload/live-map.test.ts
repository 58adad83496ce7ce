import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { withSimulator, connectTo } from '../support/simulator.js'
import { scanDataRegions, SCAN_BLOCK, settledMap, type Region } from '../../src/upload/find/data-map.js'
import { liveMap } from '../../src/upload/find/live-map.js'
import { IN_THREAD_MAX, type MapResult } from '../../src/upload/find/map-pool.js'
import { regionHashes } from '../../src/upload/find/region-hashes.js'
import { uploadImage } from '../../src/upload/upload.js'
import { UploadFailed } from '../../src/upload/send/upload-failed.js'
import { IMAGE_KEY, identityOf, parseCheckpoint, UploadIdentity } from '../../src/upload/resume/checkpoint.js'
import { liveSegments, splitSegments } from '../../src/upload/resume/segments.js'
import { needs } from '../support/oracles.js'
import { MiB, createVdi, exportSha256, fileSha256, pattern, scattered, tempDir, writeSparse } from './helpers.js'

const qemu = needs('qemu-img')
const base = { path: '/nonexistent', size: 64 * MiB, format: 'raw' as const, fileSize: 64 * MiB, mtimeMs: 0 }

describe('a large image uploaded while it is still being mapped', () => {
  it('sends segment 0 before the rest of the image is mapped, and cuts the same segments as the whole map', async () => {
    // Four windows of 16 MiB with 3 MiB of data each; the test hands them over one by one.
    const windows: Region[][] = [0, 1, 2, 3].map((w) => [{ offset: w * 16 * MiB + SCAN_BLOCK, length: 3 * MiB }])
    let release: () => void = () => undefined
    const gate = (): Promise<void> => new Promise((resolve) => (release = resolve))
    let windowsGiven = 0
    let isFollowed: () => boolean = () => true
    const map = liveMap(
      base,
      async (onWindow, _signal, followed): Promise<MapResult & { method: 'scan' }> => {
        isFollowed = followed
        for (const [i, regions] of windows.entries()) {
          await gate()
          onWindow(regions, (i + 1) * 16 * MiB)
          windowsGiven++
        }
        const regions = windows.flat()
        return { regions, dataBytes: regions.reduce((n, r) => n + r.length, 0), bytesRead: 0, method: 'scan' }
      },
      undefined,
    )
    expect(map.growth).toBeDefined()
    // Until the upload follows the map, the map may take every worker (data-map.ts).
    expect(isFollowed()).toBe(false)
    const it = liveSegments(map, 4 * MiB)
    const first = it.next()
    expect(isFollowed()).toBe(true)
    // Windows 0 and 1 hold 6 MiB: segment 0 (two regions, 6 MiB >= 4) closes once window 2's region is known.
    for (let i = 0; i < 3; i++) {
      release()
      await new Promise((resolve) => setImmediate(resolve))
    }
    // Not live, it would wait for the fourth window, which the test has not given.
    const seg0 = await Promise.race([first, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('segment 0 waited for the whole map')), 5000))])
    expect(windowsGiven).toBe(3)
    expect(seg0.value).toMatchObject({ index: 0, start: 0, end: 32 * MiB + SCAN_BLOCK, last: false })
    const rest = (async () => {
      const out = [seg0.value!]
      for await (const s of { [Symbol.asyncIterator]: () => it }) out.push(s)
      return out
    })()
    release()
    const all = await rest
    await settledMap(map)
    expect(map.growth).toBeUndefined()
    expect(map.regions).toEqual(windows.flat())
    const whole = splitSegments(map, 4 * MiB)
    expect(all.map(({ last, ...s }) => s)).toEqual(whole)
    expect(all.at(-1)!.last).toBe(true)
  })

  it('publishes a restarted map (the SEEK_DATA helper failed mid-way) without repeating what it had published', async () => {
    let done = false
    const map = liveMap(
      base,
      async (onWindow) => {
        onWindow([{ offset: 0, length: MiB }], 8 * MiB)
        // Started over from byte 0, as data-map.ts does: the window straddling the mark brings one old and one new region.
        onWindow([{ offset: 0, length: MiB }], 16 * MiB)
        onWindow([{ offset: 20 * MiB, length: MiB }], 32 * MiB)
        done = true
        return {
          regions: [
            { offset: 0, length: MiB },
            { offset: 20 * MiB, length: MiB },
          ],
          dataBytes: 2 * MiB,
          bytesRead: 0,
          method: 'scan',
        }
      },
      undefined,
    )
    const runs = [...map.growth!.runs]
    await settledMap(map)
    expect(done).toBe(true)
    expect(runs).toEqual([0, MiB, 20 * MiB, MiB])
  })

  it('a failed map fails the upload that follows it', async () => {
    const map = liveMap(
      base,
      async (onWindow) => {
        onWindow([{ offset: 0, length: MiB }], 16 * MiB)
        throw new Error('reading /nonexistent: EIO')
      },
      undefined,
    )
    await expect(
      (async () => {
        for await (const _ of liveSegments(map, 4 * MiB));
      })(),
    ).rejects.toThrow(/EIO/)
    await expect(settledMap(map)).rejects.toThrow(/EIO/)
  })

  // `hash: true`: hashed as it is mapped (one read); the provision's own map is not, and the
  // upload hashes it beside the transfer in niced workers (region-hashes.ts): a cut before
  // they finish must still leave the checkpoint, written once the hashing ends.
  it.each([
    ['hashed as it is mapped', { hash: true }],
    ['hashed beside the upload, as provision maps it', { hash: undefined }],
  ])('through the simulator (%s): checkpoints carry the identity of the whole map, and a re-run resumes from them', async (_, hashing) => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const size = IN_THREAD_MAX + 32 * MiB
    const image = join(await tempDir(), 'large.img')
    await writeSparse(image, size, [...scattered(size, 6, MiB), { offset: size - 5000, data: pattern(100, 9) }])
    const vdi = await createVdi(x, sim, size)
    const fast = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }
    // The fourth PUT and each after it is cut: the first run gives up after segment 3's checkpoint.
    sim.faults.add({ upload: 'cut', afterBytes: 512 * 1024, nth: 4, times: 0 })
    const live = await scanDataRegions(image, { live: true, ...(hashing.hash ? { hash: true } : {}) })
    expect(live.growth).toBeDefined()
    expect(await uploadImage(x, { vdi, image, map: live, tuning: fast }).catch((e: unknown) => e)).toBeInstanceOf(UploadFailed)
    expect(live.hashes !== undefined).toBe(hashing.hash === true)
    const whole = await scanDataRegions(image, { hash: false })
    expect(live.regions).toEqual(whole.regions)
    const oc = await x.call<Record<string, string>>('VDI.get_other_config', vdi)
    expect(UploadIdentity.parse(JSON.parse(oc[IMAGE_KEY]!))).toEqual(identityOf(whole, await regionHashes(whole)))
    expect(parseCheckpoint(oc).checkpoint?.offset).toBe(splitSegments(whole, MiB)[2]!.end)
    sim.faults.clear()
    const again = await uploadImage(x, { vdi, image, map: await scanDataRegions(image, { live: true }), tuning: fast })
    expect(again.resumedFrom).toBe(splitSegments(whole, MiB)[2]!.end)
    expect(await exportSha256(sim, x, vdi, size)).toBe(await fileSha256(image))
  })

  qemu.it('a qcow2 too: followed as its clusters are read for zeros, the same checkpoints and resume as its whole map, the VDI equal to qemu-img convert -O raw', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const size = IN_THREAD_MAX + 32 * MiB
    const dir = await tempDir()
    const raw = join(dir, 'large.img')
    await writeSparse(raw, size, [...scattered(size, 6, MiB), { offset: size - 5000, data: pattern(100, 9) }])
    const image = join(dir, 'large.qcow2')
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, image])
    const vdi = await createVdi(x, sim, size)
    const fast = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }
    sim.faults.add({ upload: 'cut', afterBytes: 512 * 1024, nth: 4, times: 0 })
    const live = await scanDataRegions(image, { live: true, hash: true })
    expect(live.growth).toBeDefined()
    expect(await uploadImage(x, { vdi, image, map: live, tuning: fast }).catch((e: unknown) => e)).toBeInstanceOf(UploadFailed)
    const whole = await scanDataRegions(image, { hash: false })
    expect(whole.method).toBe('tables')
    expect(live.method).toBe('tables')
    expect(live.regions).toEqual(whole.regions)
    // The same disk as raw is the same map: the identity is of the virtual disk.
    expect(whole.regions).toEqual((await scanDataRegions(raw, { hash: false })).regions)
    const oc = await x.call<Record<string, string>>('VDI.get_other_config', vdi)
    expect(UploadIdentity.parse(JSON.parse(oc[IMAGE_KEY]!))).toEqual(identityOf(whole, await regionHashes(whole)))
    expect(parseCheckpoint(oc).checkpoint?.offset).toBe(splitSegments(whole, MiB)[2]!.end)
    sim.faults.clear()
    const again = await uploadImage(x, { vdi, image, map: await scanDataRegions(image, { live: true }), tuning: fast })
    expect(again.resumedFrom).toBe(splitSegments(whole, MiB)[2]!.end)
    const converted = join(dir, 'converted.raw')
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image, converted])
    expect(await exportSha256(sim, x, vdi, size)).toBe(await fileSha256(converted))
  })
})
