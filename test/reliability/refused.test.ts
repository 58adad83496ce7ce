import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { withSimulator } from '../support/simulator.js'
import { switchableFront } from '../support/hostile-servers.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { splitSegments } from '../../src/upload/resume/segments.js'
import { uploadImage, type UploadEvent } from '../../src/upload/upload.js'
import { MiB, createVdi, exportSha256, fileSha256, scattered, tempDir, writeSparse } from '../upload/helpers.js'

const SIZE = 16 * MiB
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

describe('a host that refuses connections mid-upload (toolstack restart)', () => {
  it('retries while xapi is down, logs in again once it is back, and the VDI holds the image', async () => {
    const sim = await withSimulator()
    // Every byte between client and simulator goes through this front, which can stop listening.
    const front = await switchableFront(sim.url)
    cleanups.push(() => front.close())
    const x: XapiConnection = await connect({ url: front.url, ...sim.credentials })
    cleanups.push(() => x.close())
    const image = join(await tempDir(), 'disk.img')
    await writeSparse(image, SIZE, scattered(SIZE, 4, MiB))
    const vdi = await createVdi(x, sim, SIZE)
    const map = await scanDataRegions(image)
    const first = splitSegments(map, MiB)[0]!.bodyBytes
    let down = 0
    let upAgain = 0
    const onProgress = (p: { sent: number }): void => {
      if (down || p.sent < first) return
      down = Date.now()
      // xe-toolstack-restart: connections cut, then refused for a while, and every session gone.
      void front.stop().then(() => {
        sim.faults.expireSessions()
        setTimeout(() => void front.start().then(() => (upAgain = Date.now())), 1500)
      })
    }
    const events: UploadEvent[] = []
    const onEvent = (e: UploadEvent): void => void events.push(e)
    const r = await uploadImage(x, { vdi, image, map, tuning: { segmentBytes: MiB, retry: { retries: 6, minTimeoutMs: 200, maxTimeoutMs: 1000 } }, onProgress, onEvent })
    // The segment in flight was cut (a retry); the calls of the next attempt met refused
    // connections for 1.5 s and waited them out instead of ending the upload.
    expect(down).toBeGreaterThan(0)
    expect(upAgain).toBeGreaterThan(0)
    expect(r.retries).toBeGreaterThanOrEqual(1)
    expect(events.filter((e) => e.type === 'upload-retry').length).toBe(r.retries)
    expect(await exportSha256(sim, x, vdi, SIZE)).toBe(await fileSha256(image))
  })
})
