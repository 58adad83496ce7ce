import { expect } from 'vitest'
import type { HeldXz } from '../support/held-xz.js'
import { connectTo, withSimulator } from '../support/simulator.js'
import { MiB, createVdi, exportSha256, sha256 } from '../upload/helpers.js'
import { spoolGrowth } from '../../src/disk/spool.js'
import { releaseSpool } from '../../src/disk/spool-registry.js'
import { imageSha256 } from '../../src/fleet/image-hash.js'
import { scanDataRegions, type DataMap } from '../../src/upload/find/data-map.js'
import { uploadImage, type UploadResult } from '../../src/upload/upload.js'
import { verifyVdi } from '../../src/upload/verify/verify.js'

/**
 * The overlap scenario of the raw.xz and container-in-xz tests, whose oracles differ (xz
 * alone, or qemu-img): an image in xz whose decompression `held` holds is uploaded in
 * 1 MiB segments; the held output is released by the first segment sent, which must go
 * while the spool still grows. Then what every overlapped upload must give: the map
 * settled, little on the wire, and the VDI, --verify and the sha256 identity equal to
 * `raw`. `check` sees the map and the result for the test's own expectations.
 */
export async function overlappedUpload(held: HeldXz, xz: string, raw: Buffer, size: number, check: (map: DataMap, r: UploadResult) => Promise<void> | void): Promise<void> {
  const sim = await withSimulator()
  const x = await connectTo(sim)
  try {
    const map = await scanDataRegions(xz)
    expect(map.growth).toBeDefined()
    const vdi = await createVdi(x, sim, 64 * MiB)
    let sentWhileHeld = false
    const r = await uploadImage(x, {
      vdi,
      image: xz,
      map,
      tuning: { segmentBytes: MiB },
      onProgress: () => {
        if (held.released()) return
        sentWhileHeld = spoolGrowth(xz) !== undefined && map.growth !== undefined && !map.growth.complete()
        held.release()
      },
    })
    expect(sentWhileHeld).toBe(true)
    expect(held.gaveUp()).toBe(false) // released by the first segment, not by the wrapper giving up
    expect(map.growth).toBeUndefined() // settled: the map is whole
    await check(map, r)
    expect(r.bytesSent).toBeLessThan(8 * MiB)
    expect(await exportSha256(sim, x, vdi, size)).toBe(sha256(raw))
    await verifyVdi(x, { vdi, map, segments: r.segments })
    expect(await imageSha256(xz, map)).toBe(sha256(raw))
  } finally {
    releaseSpool(xz)
    await x.close()
  }
}
