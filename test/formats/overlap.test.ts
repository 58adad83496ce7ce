import { openSync, writeSync, closeSync, statSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, beforeEach, expect } from 'vitest'
import { needs } from '../support/oracles.js'
import { heldXz, type HeldXz } from '../support/held-xz.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { runCli } from '../support/cli.js'
import { MiB, clusters, tempDir, writeSparse } from '../upload/helpers.js'
import { inspectImage } from '../../src/disk/inspect.js'
import { compress } from './fixtures.js'
import { overlappedUpload } from './overlapped-upload.js'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A raw.xz is uploaded while it is decompressed (spool.ts `stream`, segments.ts
 * liveSegments): proven with the real xz behind a wrapper on PATH that holds its output
 * after the first 12 MiB until the test lets it go, which the test does only once the
 * simulator has received the first segment. Without the overlap the upload would wait
 * for the whole spool, and the wrapper gives up holding after 15 s: the test fails.
 */
const oracle = needs('xz')
const SIZE = 40 * MiB
let dir: string
let held: HeldXz
let savedPath: string | undefined

beforeEach(async () => {
  dir = await tempDir()
  held = heldXz(dir, 12 * MiB)
  savedPath = process.env.PATH
  process.env.PATH = `${held.bin}:${process.env.PATH ?? ''}`
})
afterEach(() => {
  process.env.PATH = savedPath
})

/**
 * 40 MiB, 1.5 MiB of data at every 8 MiB: with 1 MiB segments, each data run is one segment.
 * The data is xz-compressible (clusters): only carried and hashed here, and xz -1 of the
 * 7.5 MiB as random bytes cost ~3.6 s of CPU per test.
 */
async function image(): Promise<{ xz: string; raw: Buffer }> {
  const raw = join(dir, 'disk.raw')
  await writeSparse(
    raw,
    SIZE,
    [0, 8, 16, 24, 32].map((m, i) => ({ offset: m * MiB, data: clusters(1.5 * MiB, i + 1) })),
  )
  const want = await readFile(raw)
  return { xz: compress(raw, 'xz'), raw: want }
}

oracle.describe('raw.xz: the upload overlaps the decompression', () => {
  oracle.it(
    'the first segment is in the VDI before xz has finished; the VDI, --verify and the sha256 identity are those of the raw disk',
    async () => {
      const { xz, raw } = await image()
      expect((await inspectImage(xz, undefined, { stream: true })).size).toBe(SIZE)
      await overlappedUpload(held, xz, raw, SIZE, (_, r) => {
        expect(r.segments.map((s) => s.start)).toEqual([0, 8, 16, 24, 32].map((m) => m * MiB))
      })
    },
    60_000,
  )

  oracle.it(
    'a corrupt stream found during the overlapped upload: one message, exit 2 (image-unreadable), the VDI rolled back, no spool left',
    async () => {
      const { xz } = await image()
      // Damaged in the middle: the xz index at the end still declares the size, so the upload starts.
      const fd = openSync(xz, 'r+')
      writeSync(fd, Buffer.alloc(4096, 0x55), 0, 4096, Math.floor(statSync(xz).size * 0.6))
      closeSync(fd)
      const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
      const x = await connectTo(sim)
      const before = await x.call<string[]>('VDI.get_all')
      const tmp = join(dir, 'tmp')
      execFileSync('mkdir', [tmp])
      const run = runCli(['freebsd-14', '--host', sim.url, '--image', xz, '--skip-preflight', '--json'], {
        XAPI_USER: sim.credentials.user,
        XAPI_PASSWORD: sim.credentials.password,
        PATH: process.env.PATH ?? '',
        TMPDIR: tmp,
      })
      // The damage lies past the first 12 MiB of output (xz -dc gives ~16 MiB before it):
      // xz is let go once the run has made its VDI, so the damage is found during the upload
      // whatever the machine's speed (compressible data decompresses before any XAPI call).
      let ended = false
      void run.finally(() => {
        ended = true
      })
      while (!ended && Object.keys(sim.objects().VDI ?? {}).length === before.length) await sleep(10)
      held.release()
      const r = await run
      expect(held.gaveUp()).toBe(false)
      expect(r.code, r.stdout + r.stderr).toBe(2)
      const { error } = JSON.parse(r.stdout) as { error: { code: string; what: string; why: string; removed: string[] } }
      expect(error.code).toBe('image-unreadable')
      expect(error.what).toMatch(/^Cannot decompress .*disk\.raw\.xz$/)
      expect(error.why).toMatch(/corrupt/)
      expect(error.removed).toEqual([expect.stringMatching(/^VDI /)])
      expect(`${r.stdout}${r.stderr}`.match(/Cannot decompress/g)?.length).toBe(1)
      expect(await x.call<string[]>('VDI.get_all')).toEqual(before)
      await x.close()
      expect(execFileSync('ls', ['-A', tmp]).toString().trim()).toBe('')
    },
    60_000,
  )
})
