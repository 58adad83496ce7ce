import { describe, expect, it } from 'vitest'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { withSimulator, connectTo } from '../support/simulator.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { uploadImage, type UploadEvent } from '../../src/upload/upload.js'
import { UploadFailed } from '../../src/upload/send/upload-failed.js'
import { IMAGE_KEY, OFFSET_KEY, parseCheckpoint } from '../../src/upload/resume/checkpoint.js'
import { splitSegments } from '../../src/upload/resume/segments.js'
import { MiB, createVdi, exportSha256, fileSha256, pattern, scattered, tempDir, writeSparse } from './helpers.js'

const SIZE = 16 * MiB
/** 1 MiB segments: the 6 MiB of data below make six of them. */
const FAST = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }

async function setup(): Promise<{ sim: Awaited<ReturnType<typeof withSimulator>>; x: Awaited<ReturnType<typeof connectTo>>; vdi: string; image: string }> {
  const sim = await withSimulator()
  const x = await connectTo(sim)
  const image = join(await tempDir(), 'disk.img')
  await writeSparse(image, SIZE, scattered(SIZE, 6, MiB))
  return { sim, x, vdi: await createVdi(x, sim, 64 * MiB), image }
}

const puts = (sim: { calls(): string[] }): number => sim.calls().filter((c) => c === 'task.create').length

describe('uploadImage: segments, checkpoints, resume', () => {
  it('round-trips a sparse image: the export hashes like the file, only data went on the wire', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    const r = await uploadImage(x, { vdi, image, map, tuning: FAST })
    expect(r.segments).toHaveLength(6)
    expect(r.bytesSent).toBe(r.segments.reduce((n, s) => n + s.bodyBytes, 0))
    expect(r.bytesSent).toBeLessThan(map.dataBytes + 64 * 1024)
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
    // A finished VDI carries no checkpoint: nothing may resume onto it later.
    const oc = await x.call<Record<string, string>>('VDI.get_other_config', vdi)
    expect(oc[IMAGE_KEY]).toBeUndefined()
    expect(oc[OFFSET_KEY]).toBeUndefined()
  })

  it('after a cut connection, a second run sends only the segments that were missing', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    // The fourth PUT and every one after it is cut half way: the retry fails too.
    sim.faults.add({ upload: 'cut', afterBytes: 512 * 1024, nth: 4, times: 0 })
    const events: UploadEvent[] = []
    const first = uploadImage(x, { vdi, image, map, tuning: FAST, onEvent: (e) => events.push(e) })
    const err = await first.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UploadFailed)
    expect((err as UploadFailed).message).toMatch(/segment 4 of 6 .* failed after 2 attempts/)
    expect(events.filter((e) => e.type === 'upload-retry')).toHaveLength(1)
    const { checkpoint } = parseCheckpoint(await x.call<Record<string, string>>('VDI.get_other_config', vdi))
    const all = splitSegments(map, MiB)
    expect(checkpoint?.offset).toBe(all[2]!.end)

    sim.faults.clear()
    const before = puts(sim)
    const second = await uploadImage(x, { vdi, image, map, tuning: FAST, onEvent: (e) => events.push(e) })
    expect(second.resumedFrom).toBe(checkpoint!.offset)
    expect(second.segments.map((s) => [s.start, s.end])).toEqual(all.slice(3).map((s) => [s.start, s.end]))
    expect(puts(sim) - before).toBe(3)
    expect(second.bytesSent).toBe(all.slice(3).reduce((n, s) => n + s.bodyBytes, 0))
    expect(events).toContainEqual({ type: 'upload-resume', offset: checkpoint!.offset, image_size: SIZE })
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
  })

  it('resumes whatever the segment size of the run that left the checkpoint', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3, times: 0 })
    await expect(uploadImage(x, { vdi, image, map, tuning: FAST })).rejects.toBeInstanceOf(UploadFailed)
    sim.faults.clear()
    const r = await uploadImage(x, { vdi, image, map, tuning: { ...FAST, segmentBytes: 3 * MiB } })
    expect(r.resumedFrom).toBe(splitSegments(map, MiB)[1]!.end)
    expect(r.segments).toHaveLength(2)
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
  })

  it('rides out a toolstack restart: the connection drops, sessions die, the retry logs in again', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    // During the second segment: every session dies, and the next PUT (the third segment's) is cut.
    const second = splitSegments(map, MiB)[0]!.bodyBytes
    let restarted = false
    const onProgress = (p: { sent: number }): void => {
      if (restarted || p.sent <= second) return
      restarted = true
      sim.faults.expireSessions()
      sim.faults.add({ upload: 'cut', afterBytes: 1000 })
    }
    const r = await uploadImage(x, { vdi, image, map, tuning: FAST, onProgress })
    // One retry for the cut; a second when the restart landed between a task.create and its PUT (a 401).
    expect(r.retries).toBeGreaterThanOrEqual(1)
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
  })

  it.each([
    ['already sent', 0],
    ['not sent yet', -1],
  ])('never resumes onto a changed image (a change in bytes %s): it starts over on the same VDI', async (_, which) => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3, times: 0 })
    await expect(uploadImage(x, { vdi, image, map, tuning: FAST })).rejects.toBeInstanceOf(UploadFailed)
    sim.faults.clear()
    // Same layout (same non-zero blocks), different bytes in the first or the last region.
    const region = map.regions.at(which)!
    const fh = await open(image, 'r+')
    await fh.write(pattern(4096, 99), 0, 4096, region.offset)
    await fh.close()
    const changed = await scanDataRegions(image)
    const events: UploadEvent[] = []
    const before = puts(sim)
    const r = await uploadImage(x, { vdi, image, map: changed, tuning: FAST, onEvent: (e) => events.push(e) })
    expect(r.resumedFrom).toBe(0)
    expect(puts(sim) - before).toBe(6)
    expect(events).toContainEqual({ type: 'upload-restart', reason: expect.stringMatching(/the image changed since its first \d+ bytes were uploaded/) })
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
  })

  it('refuses to write an image over a VDI that holds part of another one', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 2, times: 0 })
    await expect(uploadImage(x, { vdi, image, map, tuning: FAST })).rejects.toBeInstanceOf(UploadFailed)
    sim.faults.clear()
    const other = join(await tempDir(), 'other.img')
    await writeSparse(other, SIZE, scattered(SIZE, 3, MiB, 7))
    await expect(uploadImage(x, { vdi, image: other, map: await scanDataRegions(other), tuning: FAST })).rejects.toThrow(/holds part of another image/)
  })

  it('stops retrying after the limit, with an error that names the segment and the attempts', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    sim.faults.add({ upload: 'http500', times: 0 })
    const events: UploadEvent[] = []
    const tuning = { segmentBytes: MiB, retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 10 } }
    const err = (await uploadImage(x, { vdi, image, map, tuning, onEvent: (e) => events.push(e) }).catch((e: unknown) => e)) as UploadFailed
    expect(err).toBeInstanceOf(UploadFailed)
    expect(err.info.what).toBe(`Upload of segment 1 of 6 (image bytes 0-${splitSegments(map, MiB)[0]!.end}) failed after 3 attempts`)
    expect(err.info.why).toMatch(/HTTP 500.*the retries ran out/)
    expect(events.filter((e) => e.type === 'upload-retry').map((e) => (e.type === 'upload-retry' ? e.retries_left : -1))).toEqual([2, 1])
    expect(puts(sim)).toBe(3)
  })

  it('does not retry what a retry cannot fix: an XAPI refusal fails at once', async () => {
    const { sim, x, vdi, image } = await setup()
    const map = await scanDataRegions(image)
    sim.faults.add({ method: 'task.create', error: ['RBAC_PERMISSION_DENIED', 'task.create', 'read-only'] })
    const err = (await uploadImage(x, { vdi, image, map, tuning: FAST }).catch((e: unknown) => e)) as UploadFailed
    expect(err).toBeInstanceOf(UploadFailed)
    expect(err.info.what).toMatch(/segment 1 of 6 .* failed after 1 attempt$/)
    expect(err.info.why).toMatch(/RBAC_PERMISSION_DENIED.*not retried: XAPI refused task.create/)
  })

  it('checks the VDI is large enough before sending, since XAPI reports a write past its end like a cut', async () => {
    const { sim, x, image } = await setup()
    const small = await createVdi(x, sim, 4 * MiB)
    await expect(uploadImage(x, { vdi: small, image, map: await scanDataRegions(image), tuning: FAST })).rejects.toThrow(/larger than the VDI/)
    expect(puts(sim)).toBe(0)
  })
})
