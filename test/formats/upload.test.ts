import { expect } from 'vitest'
import { join } from 'node:path'
import { needs } from '../support/oracles.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { MiB, createVdi, exportSha256, sha256, tempDir } from '../upload/helpers.js'
import { inspectImage } from '../../src/disk/inspect.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { uploadImage } from '../../src/upload/upload.js'
import { verifyVdi } from '../../src/upload/verify/verify.js'
import { imageSha256 } from '../../src/fleet/image-hash.js'
import { LAYOUTS, compress, convert, qemuRaw, rawFixture } from './fixtures.js'

const oracle = needs('qemu-img', 'xz')

oracle.describe('upload of a container image: only its data on the wire, the VDI equals qemu-img convert -O raw', () => {
  for (const [name, make] of [
    ['qcow2, compressed clusters', (raw: string, dir: string) => convert(raw, LAYOUTS['qcow2 v3, compressed clusters'], join(dir, 'd.qcow2'))],
    ['VMDK streamOptimized', (raw: string, dir: string) => convert(raw, LAYOUTS['VMDK streamOptimized'], join(dir, 'd.vmdk'))],
    ['qcow2.xz', (raw: string, dir: string) => compress(convert(raw, LAYOUTS['qcow2 v3'], join(dir, 'd.qcow2')), 'xz')],
  ] as const) {
    oracle.it(
      name,
      async () => {
        const sim = await withSimulator()
        const x = await connectTo(sim)
        const dir = await tempDir()
        const raw = await rawFixture(dir)
        const image = make(raw, dir)
        await inspectImage(image)
        const want = qemuRaw(raw, join(dir, 'want.raw'))
        const map = await scanDataRegions(image)
        const vdi = await createVdi(x, sim, 64 * MiB)
        // 1 MiB segments: several PUTs, checkpoints and region hashes through the tables.
        const r = await uploadImage(x, { vdi, image, map, tuning: { segmentBytes: MiB } })
        expect(r.bytesSent).toBeLessThan(map.dataBytes + 64 * 1024)
        expect(r.segments.length).toBeGreaterThan(1)
        expect(await exportSha256(sim, x, vdi, want.length)).toBe(sha256(want))
        await verifyVdi(x, { vdi, map, segments: r.segments })
        // The fleet's identity is the virtual disk's: the same as the raw disk's.
        expect(await imageSha256(image, map)).toBe(sha256(want))
      },
      60_000,
    )
  }
})
