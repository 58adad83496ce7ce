import { describe, expect, it } from 'vitest'
import { ImageFormatError, ImagePathError } from '../../src/image/errors.js'
import { extentsToBuffer } from '../../src/image/extents.js'
import { mulberry32, pseudoRandomBytes } from '../../src/image/prng.js'
import { pygrubBoot } from '../../src/image/pygrub.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { openUfs, UfsVolume } from '../../src/image/ufs.js'
import { buildUfs1 } from '../../src/image/ufs1-writer.js'
import { flip } from './helpers/flip.js'
import { checkUfs } from './helpers/ufs-check.js'

const SIZE = 4 * 1024 * 1024
const FILES = {
  '/boot/kernel/kernel': pseudoRandomBytes(200_000, 5),
  '/etc/fstab': Buffer.from('/dev/xbd0s1a / ufs rw 1 1\n'),
  '/etc/link': { type: 'symlink', target: 'fstab' },
} as const

function image(): { buf: Buffer; g: ReturnType<typeof buildUfs1>['geometry'] } {
  const img = buildUfs1({ size: SIZE, bsize: 4096, fsize: 512, files: FILES })
  return { buf: extentsToBuffer(img.extents, SIZE), g: img.geometry }
}

/** Byte offset of inode `ino` (all in cylinder group 0 here). */
const inodeAt = (g: ReturnType<typeof image>['g'], ino: number): number => g.iblkno * g.fsize + ino * 128

describe('UFS reader on bad input', () => {
  it('finds no superblock in zeros or garbage', () => {
    expect(() => openUfs(bufferReadAt(Buffer.alloc(SIZE)), SIZE)).toThrow(/no UFS superblock/)
    expect(() => openUfs(bufferReadAt(pseudoRandomBytes(SIZE, 1)), SIZE)).toThrow(ImageFormatError)
  })

  it('reports a truncated image instead of reading zeros', () => {
    const { buf, g } = image()
    const whole = openUfs(bufferReadAt(buf), SIZE)
    const k = whole.lookup('/boot/kernel/kernel')
    const cut = whole.blockAddress(k, Math.ceil(k.size / g.bsize) - 1) * g.fsize // drop the kernel's last block
    const vol = openUfs(bufferReadAt(buf.subarray(0, cut)), cut)
    expect(vol.readFile('/etc/link').data.toString()).toBe('fstab')
    expect(() => vol.readFile('/boot/kernel/kernel')).toThrow(/past the end of the image/)
  })

  it('rejects inconsistent superblock fields', () => {
    const cases: [number, number][] = [
      [8192 + 48, 3000],
      [8192 + 184, 0],
      [8192 + 96, 5],
      [8192 + 116, 7],
      [8192 + 188, 1],
    ]
    for (const [at, value] of cases) {
      const { buf } = image()
      buf.writeInt32LE(value, at)
      expect(() => openUfs(bufferReadAt(buf), SIZE), `field at ${at}`).toThrow(ImageFormatError)
    }
  })

  it('rejects a zero d_reclen, out-of-range pointers and bad inode numbers', () => {
    const { buf, g } = image()
    const root = UfsVolume.open(bufferReadAt(buf), SIZE).inode(2)
    const dirData = (root.db[0] ?? 0) * g.fsize
    buf.writeUInt16LE(0, dirData + 4)
    expect(() => openUfs(bufferReadAt(buf), SIZE).lookup('/etc')).toThrow(/d_reclen/)

    const b2 = image().buf
    const v2 = openUfs(bufferReadAt(b2), SIZE)
    const k = v2.lookup('/boot/kernel/kernel')
    b2.writeInt32LE(0x7fffffff, inodeAt(g, k.ino) + 40) // db[0]
    expect(() => openUfs(bufferReadAt(b2), SIZE).readFile('/boot/kernel/kernel')).toThrow(/outside the file system/)
    b2.writeInt32LE(-5, inodeAt(g, k.ino) + 88) // ib[0]
    expect(() => openUfs(bufferReadAt(b2), SIZE).readFile('/boot/kernel/kernel')).toThrow(/out of range/)
    expect(() => v2.inode(1)).toThrow(/out of range/)
    expect(() => v2.inode(1e9)).toThrow(/out of range/)
  })

  it('reports path errors with a code', () => {
    const vol = openUfs(bufferReadAt(image().buf), SIZE)
    expect(() => vol.lookup('/nope')).toThrow(ImagePathError)
    try {
      vol.lookup('/etc/fstab/x')
    } catch (e) {
      expect(e).toBeInstanceOf(ImagePathError)
      expect((e as ImagePathError).code).toBe('ENOTDIR')
    }
    expect(() => vol.readFile('/boot/kernel/kernel', { maxSize: 1000 })).toThrow(/more than the 1000 allowed/)
  })

  it('survives random damage to metadata: a result or a typed error, never a crash or a hang', () => {
    const pristine = image()
    const metaEnd = (pristine.g.dblkno + 64) * pristine.g.fsize
    const next = mulberry32(2024)
    const started = Date.now()
    for (let round = 0; round < 150; round++) {
      const buf = Buffer.from(pristine.buf)
      for (let k = 0; k < 1 + (next() % 8); k++) buf.writeUInt8(next() & 0xff, 8192 + (next() % (metaEnd - 8192)))
      for (const path of Object.keys(FILES)) {
        try {
          openUfs(bufferReadAt(buf), SIZE).readFile(path, { maxSize: 16 * 1024 * 1024 })
        } catch (e) {
          if (!(e instanceof ImageFormatError || e instanceof ImagePathError)) throw e
        }
      }
      for (const flavour of ['upstream', 'xcp-ng'] as const) {
        expect(pygrubBoot(bufferReadAt(buf), SIZE, { kernel: '/boot/kernel/kernel', flavour })).toHaveProperty('ok')
      }
    }
    expect(Date.now() - started).toBeLessThan(20_000)
  })
})

describe('test checker (fsck-like) sanity', () => {
  it('passes a good image and catches a flipped map bit, a wrong count and a bad link count', () => {
    const { buf, g } = image()
    const read = bufferReadAt(buf)
    expect(checkUfs(read, SIZE)).toEqual([])
    const cg0 = g.cblkno * g.fsize
    const bad1 = Buffer.from(buf)
    flip(bad1, cg0 + 174 + Math.ceil(g.ipg / 8) + 100, 0x10) // a bit in the free-fragment map
    expect(checkUfs(bufferReadAt(bad1), SIZE).join()).toMatch(/map says/)
    const bad2 = Buffer.from(buf)
    bad2.writeInt32LE(bad2.readInt32LE(cg0 + 28) + 1, cg0 + 28) // cs_nbfree
    expect(checkUfs(bufferReadAt(bad2), SIZE).join()).toMatch(/cs_nbfree/)
    const bad3 = Buffer.from(buf)
    bad3.writeInt16LE(3, inodeAt(g, 2) + 2) // root nlink
    expect(checkUfs(bufferReadAt(bad3), SIZE).join()).toMatch(/inode 2: nlink 3/)
  })
})
