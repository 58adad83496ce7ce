import { afterAll, afterEach, beforeEach, expect } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdtempSync,
  openSync,
  writeSync,
  rmSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { needs } from '../support/oracles.js'
import { BIN } from '../support/cli.js'
import { MiB, pattern, sha256, tempDir, writeSparse } from '../upload/helpers.js'
import { prepareImage, spoolDataRuns, spoolGrowth } from '../../src/disk/spool.js'
import { releaseSpool } from '../../src/disk/spool-registry.js'
import { fromRuns, scanDataRegions, settledMap } from '../../src/upload/find/data-map.js'
import { UserError } from '../../src/errors.js'
import { convert, LAYOUTS, qemuRaw } from './fixtures.js'

/**
 * xz writes the spool of an `.xz` image itself (spool-xz.ts): sparse, its data mapped
 * beside it by the SEEK_DATA helper (spool-follower.ts). Held to the oracles: the spool
 * and its map equal `qemu-img convert -O raw` of the image and a zero scan of that.
 */
const oracle = needs('xz', 'qemu-img')
const SIZE = 40 * MiB
const BLOCK = 64 * 1024
let dir: string
let tmp: string
let saved: { TMPDIR?: string; PATH?: string }

beforeEach(async () => {
  dir = await tempDir()
  tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  saved = { TMPDIR: process.env.TMPDIR, PATH: process.env.PATH }
  process.env.TMPDIR = tmp
})
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

/**
 * Made once for the file, not per test: `xz -1` of the 40 MiB disk costs ~0.8 s of CPU,
 * and `xz -0` of 64 MiB of zeros ~0.4 s. Removed after the file's last test.
 */
const shared = mkdtempSync(join(tmpdir(), 'xz-spool-'))
afterAll(() => rmSync(shared, { recursive: true, force: true }))
let sharedImage: Promise<string> | undefined
let sharedZeros: Buffer | undefined
/** 64 MiB of zeros as one xz stream (~10 KiB). */
const zeros64 = (): Buffer => (sharedZeros ??= execFileSync('xz', ['-0', '-c'], { input: Buffer.alloc(64 * MiB) }))

/**
 * Data at unaligned places, one non-zero byte in a block, a written zero block, and a zero
 * tail (xz ends it with one written zero byte). The test's own copy of the .xz (a test
 * damages it) beside a link to the raw disk it was made from (only read).
 */
async function xzImage(): Promise<string> {
  const made = await (sharedImage ??= writeXzImage(join(shared, 'disk.raw')))
  const raw = join(dir, 'disk.raw')
  linkSync(made.slice(0, -3), raw)
  copyFileSync(made, `${raw}.xz`)
  return `${raw}.xz`
}

async function writeXzImage(raw: string): Promise<string> {
  await writeSparse(raw, SIZE, [
    { offset: 0, data: pattern(4096, 1) },
    { offset: 3 * MiB + 777, data: pattern(300 * 1024, 2) },
    { offset: 9 * MiB + 8192 * 3 + 5, data: Buffer.from([7]) },
    { offset: 16 * MiB - 100 * 1024, data: pattern(700 * 1024, 3) },
    { offset: 20 * MiB, data: Buffer.alloc(256 * 1024) },
    { offset: 30 * MiB, data: pattern(64 * 1024, 4) },
  ])
  execFileSync('xz', ['-k', '-1', '-T1', raw])
  return `${raw}.xz`
}

/** The runs of non-zero 64 KiB blocks of a buffer: what a zero scan of the disk finds. */
function zeroScan(b: Buffer): number[] {
  const runs: number[] = []
  const zero = Buffer.alloc(BLOCK)
  for (let at = 0; at < b.length; at += BLOCK) {
    const block = b.subarray(at, at + BLOCK)
    if (block.equals(zero.subarray(0, block.length))) continue
    const n = runs.length
    if (n && runs[n - 2]! + runs[n - 1]! === at) runs[n - 1]! += block.length
    else runs.push(at, block.length)
  }
  return runs
}

const spools = (): string[] => readdirSync(tmp).filter((n) => n.endsWith('.spool'))

oracle.describe('xz writes the spool of an .xz image, sparse, mapped as it grows', () => {
  oracle.it('the spool equals qemu-img’s raw, holds only the data’s blocks, and its map equals a zero scan of that raw', async () => {
    const xz = await xzImage()
    const want = qemuRaw(xz.slice(0, -3), join(dir, 'oracle.raw'))
    try {
      const p = await prepareImage(xz)
      const s = statSync(p.file)
      expect(s.size).toBe(SIZE) // the zero tail is there: xz's last byte, not a truncate
      expect(sha256(readFileSync(p.file))).toBe(sha256(want))
      // 1.1 MiB of data in 8 KiB pieces (plus the last 4 KiB block, xz's final zero byte): not 40 MiB
      expect(s.blocks * 512).toBeLessThan(2 * MiB)
      expect(spoolDataRuns(p.file)).toEqual(zeroScan(want))
      const map = await scanDataRegions(xz)
      expect(map.regions).toEqual(fromRuns(zeroScan(want)).regions)
    } finally {
      releaseSpool(xz)
    }
    expect(spools()).toEqual([])
  })

  oracle.it('a qcow2 in xz: the spool is not mapped (its tables are the map: read as it grows, overlap-growing.test.ts), and the map equals a zero scan of qemu-img’s raw', async () => {
    const xz = await xzImage()
    const want = qemuRaw(xz.slice(0, -3), join(dir, 'oracle.raw'))
    const qcow2 = convert(xz.slice(0, -3), LAYOUTS['qcow2 v3'], join(dir, 'disk.qcow2'))
    execFileSync('xz', ['-k', '-1', '-T1', qcow2])
    try {
      const p = await prepareImage(`${qcow2}.xz`, undefined, { stream: true })
      expect(p.growing?.container?.format).toBe('qcow2')
      expect(p.growing?.runs).toEqual([])
      const map = await settledMap(await scanDataRegions(`${qcow2}.xz`))
      expect(spoolDataRuns(p.file)).toBeUndefined()
      expect(map.regions).toEqual(fromRuns(zeroScan(want)).regions)
    } finally {
      releaseSpool(`${qcow2}.xz`)
    }
  })

  oracle.it('without python3 (no SEEK_DATA helper) the spool is not mapped as it grows, and the map read afterwards is the same', async () => {
    const xz = await xzImage()
    const want = qemuRaw(xz.slice(0, -3), join(dir, 'oracle.raw'))
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    symlinkSync(execFileSync('sh', ['-c', 'command -v xz']).toString().trim(), join(bin, 'xz'))
    process.env.PATH = bin
    try {
      const p = await prepareImage(xz, undefined, { stream: true })
      expect(p.growing).toBeUndefined()
      expect(spoolDataRuns(p.file)).toBeUndefined()
      const map = await scanDataRegions(xz)
      expect(map.regions).toEqual(fromRuns(zeroScan(want)).regions)
    } finally {
      releaseSpool(xz)
    }
  })

  oracle.it('a .xz cut short is refused before any spool; one damaged in the middle fails while xz writes: image-unreadable naming the file, no spool left', async () => {
    const xz = await xzImage()
    const cut = join(dir, 'cut.xz')
    copyFileSync(xz, cut)
    truncateSync(cut, Math.floor(statSync(cut).size * 0.6))
    const e = await prepareImage(cut).catch((err: unknown) => err)
    expect((e as UserError).code).toBe('image-unreadable')
    expect((e as UserError).info.what).toBe(`Cannot read ${cut}`) // its index is gone: xz --list says so
    expect(spools()).toEqual([])
    // The index intact, the data damaged: found by xz as it decodes.
    const fd = openSync(xz, 'r+')
    writeSync(fd, Buffer.alloc(4096, 0x55), 0, 4096, Math.floor(statSync(xz).size * 0.6))
    closeSync(fd)
    const e2 = await prepareImage(xz).catch((err: unknown) => err)
    expect(e2).toBeInstanceOf(UserError)
    expect((e2 as UserError).code).toBe('image-unreadable')
    expect((e2 as UserError).info.what).toBe(`Cannot decompress ${xz}`)
    expect((e2 as UserError).info.why).toMatch(/xz -dc failed \(exit 1\): .*corrupt/)
    expect(spools()).toEqual([])
  })

  oracle.it('a stream whose index declares more than it holds is refused by xz itself, before anything reads the spool', async () => {
    const xz = await xzImage()
    const bad = join(dir, 'bad.xz')
    writeFileSync(bad, indexDeclaring(readFileSync(xz), SIZE + BLOCK))
    expect(execFileSync('xz', ['--robot', '--list', bad]).toString()).toContain(`\t${SIZE + BLOCK}\t`)
    const e = await prepareImage(bad).catch((err: unknown) => err)
    expect((e as UserError).code).toBe('image-unreadable')
    expect((e as UserError).info.why).toMatch(/corrupt/)
    expect(spools()).toEqual([])
  })

  oracle.it('a growing spool stopped (the run failed meanwhile): xz is gone at once, the spool removed', async () => {
    // 4 MiB of data, then 2 GiB of zeros: seconds of decoding after the first block. The
    // data is one 64 KiB pattern over and over: xz -0 of 4 MiB of random bytes cost ~0.9 s.
    const xz = join(dir, 'long.raw.xz')
    const data = Buffer.concat(Array.from({ length: 64 }, () => pattern(64 * 1024, 5)))
    writeFileSync(xz, execFileSync('xz', ['-0', '-c'], { input: data, maxBuffer: 16 * MiB }))
    const zeros = zeros64()
    for (let i = 0; i < 32; i++) appendFileSync(xz, zeros)
    const p = await prepareImage(xz, undefined, { stream: true })
    expect(p.growing).toBeDefined()
    const t0 = Date.now()
    p.growing!.abort()
    await expect(p.growing!.done).rejects.toThrow(/was stopped/)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(spoolGrowth(xz)).toBeUndefined()
    expect(spools()).toEqual([])
  })
})

oracle.describe('provision interrupted while xz writes the spool', () => {
  oracle.it(
    'one SIGINT: exit 130 within seconds, not after the decompression; two SIGINTs: the same at once; xz stopped and the spool removed; SIGKILL: xz stops by itself (its input ends)',
    async () => {
      const xz = join(dir, 'zeros.raw.xz')
      const zeros = zeros64()
      writeFileSync(xz, Buffer.alloc(0))
      for (let i = 0; i < 64; i++) appendFileSync(xz, zeros) // 4 GiB of zeros: 10 s or more of xz
      for (const signals of [['SIGINT'], ['SIGINT', 'SIGINT'], ['SIGKILL']] as const) {
        const cli = spawn(process.execPath, [BIN, 'freebsd-14', '--host', 'https://127.0.0.1:9/', '--image', xz, '--json'], {
          env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: tmp, XAPI_USER: 'root', XAPI_PASSWORD: 'x' },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let output = ''
        cli.stdout!.on('data', (d: Buffer) => (output += d.toString()))
        cli.stderr!.on('data', (d: Buffer) => (output += d.toString()))
        const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)))
        const xzPid = await until(() => children(cli.pid!, 'xz')[0], 20_000)
        expect(spools()).toHaveLength(1)
        try {
          const sent = Date.now()
          for (const s of signals) {
            cli.kill(s)
            await new Promise((r) => setTimeout(r, 200))
          }
          const code = await exited
          if (signals.length === 1 && signals[0] === 'SIGINT') {
            // The decompression of 4 GiB takes 10 s or more: the first Ctrl-C must not wait for it.
            expect(Date.now() - sent).toBeLessThan(5_000)
            expect(output).toMatch(/stopped by a signal while decompressing/)
          }
          if (signals[0] === 'SIGINT') {
            expect(code).toBe(130)
            expect(alive(xzPid)).toBe(false) // killed by the exiting process, not left to finish
            expect(spools()).toEqual([])
          } else {
            await until(() => !alive(xzPid) || undefined, 10_000)
            // The spool stays for the next run's removeStaleSpools: nothing could remove it.
            for (const n of spools()) rmSync(join(tmp, n))
          }
        } finally {
          if (alive(xzPid)) process.kill(xzPid)
          cli.kill('SIGKILL')
        }
      }
    },
    90_000,
  )
})

/** Pids of `pid`'s children named `name`. */
function children(pid: number, name: string): number[] {
  const r = (() => {
    try {
      return execFileSync('pgrep', ['-P', String(pid), '-x', name]).toString()
    } catch {
      return ''
    }
  })()
  return r.split('\n').filter(Boolean).map(Number)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  } catch {
    return false
  }
}

async function until<T>(fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The xz file with its (single-record) index rewritten to declare `size`, its CRC32 recomputed. */
function indexDeclaring(xz: Buffer, size: number): Buffer {
  const b = Buffer.from(xz)
  const backward = (b.readUInt32LE(b.length - 8) + 1) * 4
  const at = b.length - 12 - backward
  const varint = (i: number): [number, number] => {
    let n = 0
    let shift = 1
    for (;;) {
      const c = b[i++]!
      n += (c & 0x7f) * shift
      shift *= 128
      if (c < 0x80) return [n, i]
    }
  }
  if (b[at] !== 0 || varint(at + 1)[0] !== 1) throw new Error('test fixture: expected one index record')
  const [, afterUnpadded] = varint(varint(at + 1)[1])
  const [, end] = varint(afterUnpadded)
  const enc: number[] = []
  for (let n = size; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      enc.push(n)
      break
    }
    enc.push((n % 128) | 0x80)
  }
  if (enc.length !== end - afterUnpadded) throw new Error('test fixture: the new size needs another varint length')
  Buffer.from(enc).copy(b, afterUnpadded)
  const crcAt = at + backward - 4
  b.writeUInt32LE(crc32(b.subarray(at, crcAt)), crcAt)
  return b
}
