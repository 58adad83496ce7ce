import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, beforeEach, expect } from 'vitest'
import { needs } from '../support/oracles.js'
import { heldXz, type HeldXz } from '../support/held-xz.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { BIN, runCli } from '../support/cli.js'
import { MiB, clusters, createVdi, exportSha256, sha256, tempDir, writeSparse } from '../upload/helpers.js'
import { inspectImage } from '../../src/disk/inspect.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { uploadImage } from '../../src/upload/upload.js'
import { UploadFailed } from '../../src/upload/send/upload-failed.js'
import { splitSegments } from '../../src/upload/resume/segments.js'
import { parseCheckpoint } from '../../src/upload/resume/checkpoint.js'
import { overlappedUpload } from './overlapped-upload.js'
import { releaseSpool } from '../../src/disk/spool-registry.js'
import { spoolGrowth } from '../../src/disk/spool.js'

/**
 * A qcow2 in xz is uploaded while xz decompresses it (growing-disk.ts, growing-map.ts),
 * proven with the real xz behind a wrapper on PATH that holds its output after the
 * first 5 MiB (of a ~8 MiB qcow2) until the test lets it go, which it does only once the
 * simulator has the first segment. Before this, a qcow2 in xz was mapped only once its
 * spool was whole: the wrapper gave up holding after 15 s and the test failed.
 */
const oracle = needs('xz', 'qemu-img')
const SIZE = 40 * MiB
let dir: string
let held: HeldXz
let tmp: string
let saved: { PATH?: string; TMPDIR?: string }

beforeEach(async () => {
  dir = await tempDir()
  tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  held = heldXz(dir, 5 * MiB)
  saved = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR }
  process.env.PATH = `${held.bin}:${process.env.PATH ?? ''}`
  process.env.TMPDIR = tmp
})
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

/** 40 MiB, 1.5 MiB of data at every 8 MiB, as qemu-img convert lays out a qcow2 (tables first, clusters in guest order), in xz. */
async function image(damage?: (qcow2: string) => void, out: { name: string; args: string[] } = { name: 'disk.qcow2', args: ['-O', 'qcow2'] }): Promise<{ xz: string; qcow2: string; raw: Buffer }> {
  const raw = join(dir, 'disk.raw')
  await writeSparse(
    raw,
    SIZE,
    [0, 8, 16, 24, 32].map((m, i) => ({ offset: m * MiB, data: clusters(1.5 * MiB, i + 1) })),
  )
  const qcow2 = join(dir, out.name)
  execFileSync('qemu-img', ['convert', '-f', 'raw', ...out.args, raw, qcow2])
  damage?.(qcow2)
  execFileSync('xz', ['-k', '-1', '-T1', qcow2])
  if (damage) return { xz: `${qcow2}.xz`, qcow2, raw: Buffer.alloc(0) }
  const oracleRaw = join(dir, 'oracle.raw')
  execFileSync('qemu-img', ['convert', '-O', 'raw', qcow2, oracleRaw])
  return { xz: `${qcow2}.xz`, qcow2, raw: readFileSync(oracleRaw) }
}

oracle.describe('qcow2.xz: the upload overlaps the decompression', () => {
  /**
   * The same run for each container: xz held after its first `holdAfter` bytes, released
   * by the first segment sent. A dynamic VHD's blocks are 2 MiB whole (a ~10 MiB file): its
   * first 16 MiB window is final once the block at 16 MiB is written, ~6.3 MiB in.
   */
  const OVERLAPPED: { title: string; holdAfter: number; format: string; make: () => ReturnType<typeof image> }[] = [
    {
      title: 'qcow2 (qemu-img convert’s layout)',
      holdAfter: 5 * MiB,
      format: 'qcow2',
      make: () => image(),
    },
    {
      title: 'a dynamic VHD (footer copy at byte 0, as FreeBSD’s vhd.xz; force_size: the virtual size is current_size, not the CHS geometry’s)',
      holdAfter: 7 * MiB,
      format: 'vhd',
      make: () => image(undefined, { name: 'disk.vhd', args: ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'] }),
    },
  ]
  for (const c of OVERLAPPED) {
    oracle.it(
      `${c.title}: the first segment is in the VDI before xz has finished; the segments are those of the whole file; the VDI, --verify and the sha256 identity are those of qemu-img convert -O raw`,
      async () => {
        process.env.PATH = saved.PATH // the wrapper must wrap the real xz, not the one beforeEach put first
        held = heldXz(join(dir, c.format), c.holdAfter)
        process.env.PATH = `${held.bin}:${saved.PATH ?? ''}`
        const { xz, qcow2: whole, raw } = await c.make()
        expect(await inspectImage(xz, undefined, { stream: true })).toMatchObject({ format: c.format, size: SIZE })
        await overlappedUpload(held, xz, raw, SIZE, async (map, r) => {
          const wholeMap = await scanDataRegions(whole)
          expect(map.regions).toEqual(wholeMap.regions)
          expect(r.segments.map((s) => [s.start, s.end])).toEqual(splitSegments(wholeMap, MiB).map((s) => [s.start, s.end]))
        })
      },
      60_000,
    )
  }

  oracle.it('a fixed VHD in xz (no footer copy at byte 0, its only footer at the end) is still spooled whole before it is mapped', async () => {
    held.release()
    const { xz } = await image(undefined, { name: 'fixed.vhd', args: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'] })
    try {
      expect(await inspectImage(xz, undefined, { stream: true })).toMatchObject({ format: 'vhd', size: SIZE })
      const map = await scanDataRegions(xz)
      expect(map.growth).toBeUndefined()
      expect(map.format).toBe('vhd')
    } finally {
      releaseSpool(xz)
    }
  })

  oracle.it(
    'cut after three segments, then run again on a fresh spool: the checkpoint carries the whole image’s identity and the re-run resumes from it',
    async () => {
      const { xz, raw } = await image()
      const sim = await withSimulator()
      const x = await connectTo(sim)
      try {
        const vdi = await createVdi(x, sim, 64 * MiB)
        const fast = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }
        // The fourth PUT and each after it is cut: the first run gives up after segment 3's checkpoint.
        sim.faults.add({ upload: 'cut', afterBytes: 512 * 1024, nth: 4, times: 0 })
        await inspectImage(xz, undefined, { stream: true })
        const first = await scanDataRegions(xz)
        // Held by the wrapper until now, so the map surely follows a growing spool.
        expect(first.growth).toBeDefined()
        held.release()
        expect(await uploadImage(x, { vdi, image: xz, map: first, tuning: fast }).catch((e: unknown) => e)).toBeInstanceOf(UploadFailed)
        const oc = await x.call<Record<string, string>>('VDI.get_other_config', vdi)
        const segs = splitSegments(first, MiB)
        expect(parseCheckpoint(oc).checkpoint?.offset).toBe(segs[2]!.end)
        sim.faults.clear()
        // A new process: the spool is decompressed again.
        releaseSpool(xz)
        await inspectImage(xz, undefined, { stream: true })
        const again = await uploadImage(x, { vdi, image: xz, map: await scanDataRegions(xz), tuning: fast })
        expect(again.resumedFrom).toBe(segs[2]!.end)
        expect(await exportSha256(sim, x, vdi, SIZE)).toBe(sha256(raw))
      } finally {
        releaseSpool(xz)
        await x.close()
      }
    },
    60_000,
  )

  oracle.it(
    'an L2 entry past the end found while xz writes: one message naming the file and offset, exit 2 (image-unreadable), the VDI rolled back, no spool left',
    async () => {
      let l2 = 0
      const { xz } = await image((qcow2) => {
        // Guest cluster 16 MiB (the third run) points far past the end: the walk reaches it mid-way.
        const b = readFileSync(qcow2)
        l2 = Number(b.readBigUInt64BE(Number(b.readBigUInt64BE(40))) & 0x00fffffffffffe00n)
        b.writeBigUInt64BE(0x8000000000000000n | BigInt(b.length + 64 * MiB), l2 + ((16 * MiB) / 65536) * 8)
        writeFileSync(qcow2, b)
      })
      // xz stays held after its first 5 MiB (the table and the bad entry are in them): the
      // error is found while the spool grows, and the run stops xz.
      const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
      const x = await connectTo(sim)
      const before = await x.call<string[]>('VDI.get_all')
      const r = await runCli(['freebsd-14', '--host', sim.url, '--image', xz, '--skip-preflight', '--json'], {
        XAPI_USER: sim.credentials.user,
        XAPI_PASSWORD: sim.credentials.password,
        PATH: process.env.PATH ?? '',
        TMPDIR: tmp,
      })
      held.release()
      expect(held.gaveUp()).toBe(false) // xz was stopped, not left to give up
      expect(r.code, r.stdout + r.stderr).toBe(2)
      const { error } = JSON.parse(r.stdout) as { error: { code: string; what: string; why: string; removed: string[] } }
      expect(error.code).toBe('image-unreadable')
      expect(error.what).toMatch(/^Cannot read the disk image .*disk\.qcow2\.xz$/)
      expect(error.why).toMatch(new RegExp(`at byte ${l2 + 256 * 8}: the L2 entry of guest offset ${16 * MiB} points to \\d+, past the end of the file`))
      expect(error.removed).toEqual([expect.stringMatching(/^VDI /)])
      expect(await x.call<string[]>('VDI.get_all')).toEqual(before)
      await x.close()
      expect(execFileSync('ls', ['-A', tmp]).toString().trim()).toBe('')
    },
    60_000,
  )

  oracle.it('the same bad entry when xz ends between the stream inspection and the map: image-unreadable naming the image, not an internal failure', async () => {
    const { xz } = await image((qcow2) => {
      const b = readFileSync(qcow2)
      const l2 = Number(b.readBigUInt64BE(Number(b.readBigUInt64BE(40))) & 0x00fffffffffffe00n)
      b.writeBigUInt64BE(0x8000000000000000n | BigInt(b.length + 64 * MiB), l2 + ((16 * MiB) / 65536) * 8)
      writeFileSync(qcow2, b)
    })
    try {
      // The stream inspection sees a growing spool; xz then finishes before the map is asked
      // for (a small image, a fast xz: what the CLI's login and lookups leave time for), so
      // the map walks the whole file's tables, which nothing had walked yet.
      await inspectImage(xz, undefined, { stream: true })
      const growth = spoolGrowth(xz)
      expect(growth).toBeDefined()
      held.release()
      await growth!.done
      expect(spoolGrowth(xz)).toBeUndefined()
      const e = await scanDataRegions(xz).catch((e: unknown) => e)
      expect(e).toMatchObject({
        code: 'image-unreadable',
        info: { what: `Cannot read the disk image ${xz}`, why: expect.stringMatching(/the L2 entry of guest offset 16777216 points to \d+, past the end of the file/) },
      })
    } finally {
      releaseSpool(xz)
    }
  })

  oracle.it('a backing file is refused while opening, before any XAPI call, as for a whole file; xz stopped, no spool left', async () => {
    const base = join(dir, 'base.qcow2')
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, String(SIZE)])
    const child = join(dir, 'child.qcow2')
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', child])
    execFileSync('xz', ['-k', '-1', '-T1', child])
    held.release()
    const e = await inspectImage(`${child}.xz`, undefined, { stream: true }).catch((e: unknown) => e)
    expect(e).toMatchObject({ code: 'image-unreadable', info: { why: expect.stringMatching(/at byte 8: the image has a backing file \(".*base\.qcow2"\)/) } })
    expect(spoolGrowth(`${child}.xz`)).toBeUndefined()
    // A spool xz finished before the header was read is kept for the process, as any whole spool is.
    releaseSpool(`${child}.xz`)
    expect(execFileSync('ls', ['-A', tmp]).toString().trim()).toBe('')
  })

  oracle.it(
    'the first Ctrl-C while segments are sent and xz is held: exit 130 within seconds, xz stopped, the spool removed, the VDI rolled back',
    async () => {
      const { xz } = await image()
      const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
      const x = await connectTo(sim)
      const before = await x.call<string[]>('VDI.get_all')
      const cli = spawn(process.execPath, [BIN, 'freebsd-14', '--host', sim.url, '--image', xz, '--skip-preflight', '--json'], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: tmp, XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      cli.stdout!.on('data', (d: Buffer) => (output += d.toString()))
      cli.stderr!.on('data', (d: Buffer) => (output += d.toString()))
      const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)))
      try {
        // The VDI is created while xz is held: the upload is under way on the growing spool.
        for (let t = 0; (await x.call<string[]>('VDI.get_all')).length === before.length; t++) {
          expect(t, output).toBeLessThan(200)
          await new Promise((r) => setTimeout(r, 50))
        }
        const sent = Date.now()
        cli.kill('SIGINT')
        expect(await exited, output).toBe(130)
        expect(Date.now() - sent).toBeLessThan(5_000)
        expect(held.gaveUp()).toBe(false)
        expect(await x.call<string[]>('VDI.get_all')).toEqual(before)
        expect(execFileSync('ls', ['-A', tmp]).toString().trim()).toBe('')
      } finally {
        held.release()
        cli.kill('SIGKILL')
        await x.close()
      }
    },
    60_000,
  )
})
