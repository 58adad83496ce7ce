import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { readXzDeclaredSize, XzIndexError } from '../../src/disk/xz-index.js'
import { xzDeclaredSize } from '../../src/disk/xz-tool.js'
import { UserError } from '../../src/errors.js'
import { crc32 } from '../../src/image/crc32.js'
import { needs } from '../support/oracles.js'

const oracle = needs('xz')
const dir = mkdtempSync(join(tmpdir(), 'xz-index-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** xz's own figure for a file: the oracle the reader must agree with. */
const listed = (file: string): number =>
  Number(
    execFileSync('xz', ['--robot', '--list', file])
      .toString()
      .split('\n')
      .find((l) => l.startsWith('totals\t'))!
      .split('\t')[4],
  )

const xz = (input: Buffer, ...args: string[]): Buffer => execFileSync('xz', ['-c', ...args], { input, maxBuffer: 1 << 30 })
const bytes = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n)
  for (let i = 0, x = seed; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
  return b
}

oracle.describe('the xz index reader agrees with xz --robot --list', () => {
  it('one stream, one block; one stream of many blocks (xz -T2 --block-size); concatenated streams with padding between and after; an empty stream', () => {
    const cases: Array<[string, Buffer]> = [
      ['one', xz(bytes(300_000, 1), '-0')],
      ['blocks', xz(Buffer.concat([bytes(200_000, 2), Buffer.alloc(3 << 20)]), '-0', '-T2', '--block-size=65536')],
      ['streams', Buffer.concat([xz(bytes(1000, 3), '-0'), Buffer.alloc(8), xz(Buffer.alloc(5 << 20), '-0'), xz(bytes(77, 4), '-0', '--check=none'), Buffer.alloc(4)])],
      ['empty', xz(Buffer.alloc(0), '-0')],
      ['sha256 check', xz(bytes(123_457, 5), '-0', '--check=sha256')],
    ]
    for (const [name, data] of cases) {
      const file = join(dir, `${name}.xz`)
      writeFileSync(file, data)
      expect(readXzDeclaredSize(file), name).toBe(listed(file))
    }
    // Many streams: what made xz --list slow (it merges every index as it goes).
    const many = join(dir, 'many.xz')
    const piece = xz(Buffer.alloc(65536), '-0')
    writeFileSync(many, Buffer.alloc(0))
    for (let i = 0; i < 2000; i++) appendFileSync(many, piece)
    expect(readXzDeclaredSize(many)).toBe(2000 * 65536)
    expect(listed(many)).toBe(2000 * 65536)
  })

  it('a damaged or truncated file is refused with the byte offset, as xz --list refuses it', () => {
    const good = xz(Buffer.concat([bytes(100_000, 6), Buffer.alloc(1 << 20)]), '-0', '-T2', '--block-size=65536')
    const damaged: Array<[string, Buffer, RegExp]> = [
      ['cut in the middle', good.subarray(0, Math.floor(good.length / 2) & ~3), /truncated|no xz stream footer|index/],
      ['cut by two bytes', good.subarray(0, good.length - 2), /4-byte boundary/],
      ['footer magic gone', Buffer.concat([good.subarray(0, good.length - 2), Buffer.from('ZZ')]), /no xz stream footer/],
      ['index byte flipped', flip(good, good.length - 12 - 6), /CRC32/],
      ['not xz at all', Buffer.alloc(4096, 7), /no xz stream footer/],
      ['zeros only', Buffer.alloc(64), /too short|truncated/],
    ]
    for (const [name, data, why] of damaged) {
      const file = join(dir, `bad-${name.replace(/ /g, '-')}.xz`)
      writeFileSync(file, data)
      expect(() => execFileSync('xz', ['--robot', '--list', file], { stdio: 'ignore' }), `xz --list accepts "${name}"`).toThrow()
      let error: unknown
      try {
        readXzDeclaredSize(file)
      } catch (e) {
        error = e
      }
      expect(error, name).toBeInstanceOf(XzIndexError)
      expect((error as Error).message, name).toMatch(why)
      expect((error as Error).message, name).toMatch(/at byte \d+/)
      // As the user sees it: the file, what is wrong, the fix.
      const user = (() => {
        try {
          xzDeclaredSize(file)
        } catch (e) {
          return e
        }
      })()
      expect(user).toBeInstanceOf(UserError)
      expect((user as UserError).info.what).toBe(`Cannot read ${file}`)
      expect((user as UserError).info.fix).toMatch(/download it again/)
    }
  })

  it('an index whose record count runs past its own end is refused, not looped over', () => {
    const good = readFileSync(join(dir, 'one.xz'))
    // Lie about the number of records: 2^35 in a 12-byte index, with the CRC32 recomputed so only the count is wrong.
    const file = join(dir, 'lying-count.xz')
    const b = Buffer.from(good)
    const indexSize = (b.readUInt32LE(b.length - 8) + 1) * 4
    const at = b.length - 12 - indexSize
    b[at + 1] = 0x80 | (b[at + 1]! & 0x7f)
    b.writeUInt32LE(crc32(b.subarray(at, at + indexSize - 4)), at + indexSize - 4)
    writeFileSync(file, b)
    expect(() => readXzDeclaredSize(file)).toThrow(XzIndexError)
  })
})

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b)
  c[at] = c[at]! ^ 0xff
  return c
}
