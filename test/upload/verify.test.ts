import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { withSimulator, connectTo } from '../support/simulator.js'
import { scanDataRegions, type DataMap } from '../../src/upload/find/data-map.js'
import { uploadImage } from '../../src/upload/upload.js'
import { verifyVdi } from '../../src/upload/verify/verify.js'
import { UserError } from '../../src/errors.js'
import { MiB, createVdi, pattern, scattered, tempDir, writeSparse } from './helpers.js'

const SIZE = 40 * MiB

type Uploaded = { sim: Awaited<ReturnType<typeof withSimulator>>; x: Awaited<ReturnType<typeof connectTo>>; vdi: string; map: DataMap; r: Awaited<ReturnType<typeof uploadImage>> }

async function uploaded(): Promise<Uploaded> {
  const sim = await withSimulator()
  const x = await connectTo(sim)
  const image = join(await tempDir(), 'disk.img')
  await writeSparse(image, SIZE, scattered(SIZE, 4, MiB))
  const vdi = await createVdi(x, sim, 64 * MiB)
  const map = await scanDataRegions(image)
  const r = await uploadImage(x, { vdi, image, map, tuning: { segmentBytes: MiB } })
  return { sim, x, vdi, map, r }
}

const verify = (u: Uploaded) => verifyVdi(u.x, { vdi: u.vdi, map: u.map, segments: u.r.segments })

describe('verifyVdi: the VDI read back through GET /export_raw_vdi, per segment', () => {
  it('passes on a faithful upload and reads only the image span of the VDI', async () => {
    const v = await verify(await uploaded())
    expect(v.segments).toBe(4)
    expect(v.bytesRead).toBeGreaterThanOrEqual(SIZE)
    expect(v.bytesRead).toBeLessThan(64 * MiB)
  })

  it('names the segment whose data was corrupted in the VDI', async () => {
    const u = await uploaded()
    const third = u.r.segments[2]!
    const region = third.regions[0]!
    u.sim.state.disks.get(u.vdi)!.write(region.offset + 5000, pattern(100, 42))
    const err = (await verify(u).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.what).toBe('The VDI does not hold the image: 1 of 4 segments differ')
    expect(err.info.why).toBe(`segment 3 of 4 (bytes ${third.start}-${third.end}): the data at bytes ${region.offset}-${region.offset + region.length} differs`)
  })

  it('names a segment where the VDI has data in one of the image holes, down to the byte', async () => {
    const u = await uploaded()
    const first = u.r.segments[0]!
    u.sim.state.disks.get(u.vdi)!.write(4096 + 7, Buffer.from([0xee]))
    const err = (await verify(u).catch((e: unknown) => e)) as UserError
    expect(err.info.why).toBe(`segment 1 of 4 (bytes ${first.start}-${first.end}): byte ${4096 + 7} is not zero where the image has a hole`)
  })
})
