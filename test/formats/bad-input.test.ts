import { expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeFileSync, writeSync, truncateSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { needs } from '../support/oracles.js'
import { tempDir } from '../upload/helpers.js'
import { inspectImage } from '../../src/disk/inspect.js'
import { withDisk } from '../../src/disk/open-disk.js'
import { DiskFormatError } from '../../src/disk/virtual-disk.js'
import { UserError } from '../../src/errors.js'
import { LAYOUTS, convert, rawFixture } from './fixtures.js'

const oracle = needs('qemu-img', 'xz')

async function refusal(image: string): Promise<string> {
  const e = await inspectImage(image).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(UserError)
  const u = e as UserError
  expect(u.info.why).toContain(image)
  return `${u.info.why} | ${u.info.fix}`
}

const patch = (file: string, at: number, bytes: Buffer): void => {
  const b = readFileSync(file)
  bytes.copy(b, at)
  writeFileSync(file, b)
}
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(v)
  return b
}

oracle.describe('bad input: a clear error naming the file, the offset and what is wrong; nothing read further', () => {
  oracle.it(
    'refuses qcow2 with a backing file, encryption, a truncated file, absurd sizes, tables past the end or overlapping',
    async () => {
      const dir = await tempDir()
      const raw = await rawFixture(dir)
      const base = convert(raw, LAYOUTS['qcow2 v3'], join(dir, 'base.qcow2'))
      const over = join(dir, 'over.qcow2')
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', over])
      expect(await refusal(over)).toMatch(/backing file \(".*base\.qcow2"\).*qemu-img convert/)
      const enc = join(dir, 'enc.qcow2')
      execFileSync('qemu-img', ['create', '-q', '--object', 'secret,id=s0,data=pw', '-f', 'qcow2', '-o', 'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10', enc, '1M'])
      expect(await refusal(enc)).toMatch(/at byte 32: the image is encrypted/)

      const cut = join(dir, 'cut.qcow2')
      writeFileSync(cut, readFileSync(base))
      truncateSync(cut, Math.floor(statSync(cut).size / 2))
      expect(await refusal(cut)).toMatch(/past the end of the file .*truncated/)

      const huge = join(dir, 'huge.qcow2')
      writeFileSync(huge, readFileSync(base))
      patch(huge, 24, u64(1n << 60n))
      expect(await refusal(huge)).toMatch(/at byte 24: .*absurd/)

      const l1 = join(dir, 'l1.qcow2')
      writeFileSync(l1, readFileSync(base))
      patch(l1, 40, u64(1n << 40n))
      expect(await refusal(l1)).toMatch(/the L1 table .* past the end of the file/)

      // The first L2 entry of the first L2 table pointed at the L1 table itself.
      const lap = join(dir, 'lap.qcow2')
      const b = readFileSync(base)
      const l1At = Number(b.readBigUInt64BE(40))
      const l2At = Number(b.readBigUInt64BE(l1At) & 0x00fffffffffffe00n)
      writeFileSync(lap, b)
      patch(lap, l2At, u64(BigInt(l1At) | (1n << 63n)))
      expect(await refusal(lap)).toMatch(/overlaps a table/)
    },
    60_000,
  )

  oracle.it(
    'refuses a differencing VHD, a VHD with a bad checksum, and a BAT entry past the end',
    async () => {
      const dir = await tempDir()
      const raw = await rawFixture(dir)
      const vhd = convert(raw, LAYOUTS['VHD dynamic'], join(dir, 'd.vhd'))
      const b = readFileSync(vhd)
      const foot = b.length - 512
      const diff = Buffer.from(b)
      diff.writeUInt32BE(4, foot + 60)
      let sum = 0
      for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += diff[foot + i]!
      diff.writeUInt32BE(~sum >>> 0, foot + 64)
      writeFileSync(join(dir, 'diff.vhd'), diff)
      expect(await refusal(join(dir, 'diff.vhd'))).toMatch(/differencing VHD/)
      const bad = Buffer.from(b)
      bad[foot + 40] = bad[foot + 40]! ^ 1
      writeFileSync(join(dir, 'sum.vhd'), bad)
      expect(await refusal(join(dir, 'sum.vhd'))).toMatch(/checksum does not match/)
      const cut = join(dir, 'cut.vhd')
      // Cut inside the data but keep a valid footer at the end: the BAT then points past it.
      writeFileSync(cut, Buffer.concat([b.subarray(0, b.length - 2 * 1024 * 1024), b.subarray(foot)]))
      expect(await refusal(cut)).toMatch(/BAT entry \d+ points to \d+, past the end of the file/)
    },
    60_000,
  )

  oracle.it(
    'refuses a VMDK descriptor, a streamOptimized VMDK cut in half, and a truncated xz',
    async () => {
      const dir = await tempDir()
      const raw = await rawFixture(dir)
      const desc = join(dir, 'flat.vmdk')
      execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', desc, '1M'])
      expect(await refusal(desc)).toMatch(/VMDK descriptor/)
      const stream = convert(raw, LAYOUTS['VMDK streamOptimized'], join(dir, 's.vmdk'))
      truncateSync(stream, Math.floor(statSync(stream).size / 2))
      expect(await refusal(stream)).toMatch(/past the end of the file/)
      execFileSync('xz', ['-k', '-1', raw])
      truncateSync(`${raw}.xz`, statSync(`${raw}.xz`).size - 100)
      const e = await inspectImage(`${raw}.xz`).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(e).toBeInstanceOf(UserError)
      expect((e as UserError).info.fix).toMatch(/download it again/)
    },
    60_000,
  )
})

/** xorshift32: the same mutations on every run, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

oracle.describe('fuzz (seeded, bounded): a mutated container is read or refused with a DiskFormatError, never a crash or a hang', () => {
  for (const name of ['qcow2 v3', 'qcow2 v3, compressed clusters', 'VHD dynamic', 'VMDK monolithicSparse', 'VMDK streamOptimized'] as const) {
    oracle.it(
      name,
      async () => {
        const dir = await tempDir()
        const image = convert(await rawFixture(dir), LAYOUTS[name], join(dir, 'img'))
        const good = readFileSync(image)
        const next = rng(0x5eed + name.length)
        // Mutate where the metadata lives: the first 64 KiB, and the last 2 KiB (footers).
        const hot = (): number => (next() < 0.8 ? Math.floor(next() * Math.min(65536, good.length)) : good.length - 1 - Math.floor(next() * 2048))
        const mutated = join(dir, 'm')
        // The good image is written once; each round writes its few bytes into it and puts the
        // good ones back after: rewriting the whole file 120 times cost ~1.5 s of the VHD row.
        writeFileSync(mutated, good)
        const fd = openSync(mutated, 'r+')
        try {
          for (let round = 0; round < 120; round++) {
            const touched: number[] = []
            for (let k = 1 + Math.floor(next() * 4); k > 0; k--) {
              const at = hot()
              touched.push(at)
              writeSync(fd, Buffer.of(Math.floor(next() * 256)), 0, 1, at)
            }
            try {
              withDisk(mutated, (d) => {
                for (const e of d.allocated()) void e
                // Bounded reads: a mutated size may be huge, the read is not.
                for (const at of [0, Math.floor(d.size / 2), Math.max(0, d.size - 65536)]) d.readAt(at, 65536)
              })
            } catch (e) {
              if (!(e instanceof DiskFormatError)) throw new Error(`round ${round}: ${String(e)}`, { cause: e })
            }
            for (const at of touched) writeSync(fd, good, at, 1, at)
          }
        } finally {
          closeSync(fd)
        }
      },
      60_000,
    )
  }
})
