import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { ProvisionResult } from '../../src/provision/types.js'
import { runCli } from '../support/cli.js'
import { needs } from '../support/oracles.js'
import { withSimulator } from '../support/simulator.js'

/**
 * The published formats through the spawned CLI (issue 11's contract): check-image reads
 * a .qcow2.xz without a raw copy, and a provision from a qcow2 sends only the data and
 * leaves a VDI equal to `qemu-img convert -O raw` of the input.
 */
const oracle = needs('qemu-img', 'xz')

let dir: string
let qcow2: string
let want: Buffer
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'formats-e2e-'))
  const raw = join(dir, 'sample.raw')
  await writeSampleHvmImage(raw, { firmware: 'uefi', diskSize: SMALL_HVM })
  qcow2 = join(dir, 'FreeBSD-14-amd64.qcow2')
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2])
  execFileSync('xz', ['-k', '-1', qcow2])
  execFileSync('qemu-img', ['convert', '-O', 'raw', qcow2, join(dir, 'want.raw')])
  want = await readFile(join(dir, 'want.raw'))
}, 60_000)
afterAll(() => rm(dir, { recursive: true, force: true }))

oracle.describe('published formats through the CLI', () => {
  oracle.it(
    'check-image reads a .qcow2.xz (HVM recipe) without a raw copy and says it boots',
    async () => {
      const r = await runCli(['check-image', `${qcow2}.xz`, '--recipe', 'freebsd-14', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ bootable: true })
    },
    60_000,
  )

  oracle.it(
    'provision freebsd-14 --image X.qcow2: only the data on the wire, the VDI equals qemu-img convert -O raw',
    async () => {
      const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
      const r = await runCli(['freebsd-14', '--host', sim.url, '--image', qcow2, '--json'], { XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })
      expect(r.code, r.stderr).toBe(0)
      const out = ProvisionResult.parse(JSON.parse(r.stdout))
      const qcowSize = (await readFile(qcow2)).length
      // Chunked records of the allocated data: less than the qcow2 file, far less than the disk.
      expect(out.upload.bytes_sent).toBeLessThanOrEqual(qcowSize)
      expect(out.upload.bytes_sent).toBeLessThan(want.length / 2)
      expect(sim.readVdi(out.vdi.ref, 0, want.length).equals(want)).toBe(true)
      const disk = sim.state.disks.get(out.vdi.ref)!
      expect(disk.dataBlocks().every((b) => b * 64 * 1024 < want.length)).toBe(true)
    },
    120_000,
  )

  oracle.it(
    'check-image X.qcow2.xz shows the decompression on stderr as provision does (plain lines: not a terminal); --json keeps stderr quiet',
    async () => {
      const r = await runCli(['check-image', `${qcow2}.xz`, '--recipe', 'freebsd-14'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/^ {2}decompressing .*FreeBSD-14-amd64\.qcow2\.xz: 100% \(/m)
      const quiet = await runCli(['check-image', `${qcow2}.xz`, '--recipe', 'freebsd-14', '--json'])
      expect(quiet.code, quiet.stderr).toBe(0)
      expect(quiet.stderr).not.toMatch(/decompressing/)
    },
    60_000,
  )

  oracle.it(
    'provision --image X.qcow2.xz prints the decompression progress on stderr (not a terminal: plain lines)',
    async () => {
      const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
      const r = await runCli(['freebsd-14', '--host', sim.url, '--image', `${qcow2}.xz`], { XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/decompressing .*FreeBSD-14-amd64\.qcow2\.xz: 100% \(/)
    },
    120_000,
  )
})
