import { expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, createReadStream, readdirSync, truncateSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { needs } from '../support/oracles.js'
import { tempDir } from '../upload/helpers.js'
import { xzDecompress } from '../../src/disk/xz-pipe.js'
import { UserError } from '../../src/errors.js'

const oracle = needs('xz')
const fifoDirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('xcp-provision-xz-'))

oracle.describe('xzDecompress: xz writes into a FIFO read into one reused buffer', () => {
  oracle.it('hands over exactly what xz -dc writes, in pieces, and leaves no FIFO behind', async () => {
    const dir = await tempDir()
    const file = join(dir, 'd')
    writeFileSync(file, Buffer.concat([randomBytes(3 * 1024 * 1024 + 17), Buffer.alloc(5 * 1024 * 1024), randomBytes(999)]))
    execFileSync('xz', ['-0', '-k', file])
    const want = createHash('sha256')
      .update(execFileSync('xz', ['-dc', `${file}.xz`], { maxBuffer: 64 * 1024 * 1024 }))
      .digest('hex')
    const h = createHash('sha256')
    let pieces = 0
    const before = fifoDirs().length
    await xzDecompress(`${file}.xz`, createReadStream(`${file}.xz`), (c) => {
      h.update(c)
      pieces++
    })
    expect(h.digest('hex')).toBe(want)
    expect(pieces).toBeGreaterThan(1)
    expect(fifoDirs().length).toBeLessThanOrEqual(before)
  })

  oracle.it('a truncated file rejects with xz’s message; an error of the taker stops xz and is the one reported', async () => {
    const dir = await tempDir()
    const file = join(dir, 'd')
    writeFileSync(file, randomBytes(8 * 1024 * 1024))
    execFileSync('xz', ['-0', '-k', file])
    const cut = join(dir, 'cut.xz')
    copyFileSync(`${file}.xz`, cut)
    truncateSync(cut, statSync(cut).size - 100)
    const e = await xzDecompress(cut, createReadStream(cut), () => undefined).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(UserError)
    expect((e as UserError).info.why).toMatch(/xz -dc failed \(exit 1\): .*(Unexpected end|truncated)/i)
    let taken = 0
    const stop = new Error('expands beyond its declared size')
    const t0 = Date.now()
    const e2 = await xzDecompress(`${file}.xz`, createReadStream(`${file}.xz`), (c) => {
      taken += c.length
      if (taken > 1024 * 1024) throw stop
    }).catch((err: unknown) => err)
    expect(e2).toBe(stop)
    expect(taken).toBeLessThan(8 * 1024 * 1024)
    expect(Date.now() - t0).toBeLessThan(10_000)
  })
})
