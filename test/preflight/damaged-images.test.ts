import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { mulberry32 } from '../../src/image/prng.js'
import { bufferReadAt, subReadAt } from '../../src/image/read-at.js'
import { openUfs } from '../../src/image/ufs.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { preflightFile } from '../../src/preflight/preflight.js'
import type { PreflightReport } from '../../src/preflight/report.js'
import { realPygrub, type RealPygrub } from '../image/helpers/pygrub-run.js'
import { tempDir } from '../image/helpers/tools.js'
import { needs } from '../support/oracles.js'

const PV = { bootloader_args: '--kernel=/boot/kernel/kernel', args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' }
const MiB = 1024 * 1024

interface Case {
  name: string
  path: string
  report: PreflightReport
}

/** A report is a clear verdict: no stage fell through to the safety net, and a failure says why. */
function expectClearVerdict(c: Case): void {
  expect(
    c.report.warnings.filter((w) => w.code === 'analysis-error'),
    c.name,
  ).toEqual([])
  for (const v of Object.values(c.report.verdicts)) {
    if (!v.boots) expect(v.problems.length, `${c.name} ${v.flavour}: a failure without a reason`).toBeGreaterThan(0)
  }
  expect(c.report.elapsed_ms, c.name).toBeLessThan(1000)
}

/**
 * Same verdict as real pygrub: both boot (and extract as many bytes) or both fail with
 * the same message. Where the emulation says pygrub would crash or hang, the real one
 * is not run (it may spin or write gigabytes); the preflight must then say "cannot boot".
 */
function expectSameAsReal(c: Case, real: RealPygrub | null): void {
  const predicted = c.report.verdicts.upstream
  if (real === null) {
    expect(predicted.boots, c.name).toBe(false)
    expect(
      predicted.problems.map((p) => p.code),
      c.name,
    ).toEqual(['fs-damaged'])
    return
  }
  expect(predicted.pygrub.ok, `${c.name}: real pygrub ${real.ok ? 'booted' : real.message}`).toBe(real.ok)
  if (real.ok) expect(predicted.pygrub.kernel_bytes, c.name).toBe(real.kernel.length)
  else expect(predicted.pygrub.message, c.name).toBe(real.message)
}

const aborted = (r: PreflightReport): boolean => r.verdicts.upstream.problems.some((p) => p.code === 'fs-damaged' && p.message.startsWith('pygrub would crash or hang'))

needs('pygrub').describe('preflight on corrupted and truncated copies of the sample image', () => {
  const tmp = tempDir('preflight-damaged-')
  let image: Buffer
  let part = 0
  let ranges: [number, number][] = []
  let kernelFirst = 0
  let kernelLast = 0
  beforeAll(async () => {
    const base = join(tmp.dir, 'base.img')
    part = (await writeSampleImage(base, { diskSize: 16 * MiB, seed: 4 })).partitionOffset
    image = readFileSync(base)
    const vol = openUfs(subReadAt(bufferReadAt(image), part), image.length - part)
    const k = vol.lookup('/boot/kernel/kernel')
    const inodes = part + vol.sb.iblkno * vol.sb.fsize
    // The superblock's fields and the inodes on the kernel's path (/, boot, kernel, kernel).
    ranges = [
      [part + 8192, part + 8192 + 1376],
      [inodes + 2 * 128, inodes + (k.ino + 1) * 128],
    ]
    kernelFirst = part + vol.blockAddress(k, 0) * vol.sb.fsize
    kernelLast = part + vol.blockAddress(k, Math.ceil(k.size / vol.sb.bsize) - 1) * vol.sb.fsize
  })
  afterAll(tmp.cleanup)

  const check = (name: string, data: Buffer): Case => {
    const path = join(tmp.dir, `${name}.img`)
    writeFileSync(path, data)
    return { name, path, report: preflightFile(path, PV) }
  }

  it('corrupted: random bytes flipped in the superblock and the inodes give the verdict real pygrub gives', async () => {
    const cases: Case[] = []
    for (let seed = 1; seed <= 40; seed++) {
      const next = mulberry32(seed)
      const buf = Buffer.from(image)
      for (let i = 0, n = 1 + (next() % 6); i < n; i++) {
        const [from, to] = ranges[next() % ranges.length] ?? [0, 1]
        const at = from + (next() % (to - from))
        buf.writeUInt8(buf.readUInt8(at) ^ (1 + (next() % 255)), at)
      }
      cases.push(check(`corrupt-${seed}`, buf))
    }
    const reals = await Promise.all(cases.map((c) => (aborted(c.report) ? null : realPygrub(c.path, tmp.dir, ['--kernel=/boot/kernel/kernel']))))
    cases.forEach((c, i) => {
      expectClearVerdict(c)
      expectSameAsReal(c, reals[i] ?? null)
    })
    // The corpus must exercise both outcomes, or it proves little.
    expect(cases.filter((c) => c.report.verdicts.upstream.boots).length).toBeGreaterThan(5)
    expect(cases.filter((c) => !c.report.verdicts.upstream.boots).length).toBeGreaterThan(3)
  })

  it('truncated: every cut gives a clear verdict, the one real pygrub gives, and says the image is short', async () => {
    const cuts: [string, number][] = [
      ['cut-300', 300],
      ['cut-mbr', 512],
      ['cut-label', part + 1024],
      ['cut-superblock', part + 8192 + 700],
      ['cut-before-kernel', kernelFirst],
      ['cut-mid-kernel', Math.floor((kernelFirst + kernelLast) / 2)],
      ['cut-last-kernel-block', kernelLast],
      ['cut-tail', image.length - MiB],
    ]
    const cases = cuts.map(([name, at]) => check(name, image.subarray(0, at)))
    const reals = await Promise.all(cases.map((c) => realPygrub(c.path, tmp.dir, ['--kernel=/boot/kernel/kernel'])))
    cases.forEach((c, i) => {
      expectClearVerdict(c)
      expectSameAsReal(c, reals[i] ?? null)
      if (c.name !== 'cut-300')
        expect(
          c.report.warnings.map((w) => w.code),
          c.name,
        ).toContain('image-truncated')
    })
    const byName = new Map(cases.map((c) => [c.name, c.report]))
    expect(byName.get('cut-mid-kernel')?.verdicts.upstream.problems.map((p) => p.code)).toEqual(['kernel-truncated'])
    expect(byName.get('cut-tail')?.verdicts.upstream.boots).toBe(true)
    expect(byName.get('cut-superblock')?.verdicts.upstream.problems.map((p) => p.code)).toEqual(['no-filesystem'])
  })
})
