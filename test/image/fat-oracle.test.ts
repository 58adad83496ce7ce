import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect } from 'vitest'
import { ImageFormatError, ImagePathError } from '../../src/image/errors.js'
import { extentsReadAt } from '../../src/image/extents.js'
import { FatVolume } from '../../src/image/fat.js'
import { buildFat } from '../../src/image/fat-writer.js'
import { pseudoRandomBytes } from '../../src/image/prng.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { writeExtents } from './helpers/images.js'
import { run, runOk, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const MiB = 1024 * 1024
const reader = needs('mkfs.fat', 'mcopy', 'mdir')
const writer = needs('fsck.fat', 'mcopy', 'mdir')

/**
 * The FAT reader against volumes made by mkfs.fat + mcopy (dosfstools, mtools), and the
 * FAT writer checked by fsck.fat and mdir: neither side is only tested against the other.
 */
reader.describe('FAT reader on volumes built by mkfs.fat and mcopy', () => {
  const tmp = tempDir('fat-oracle-')
  afterAll(tmp.cleanup)
  const loader = pseudoRandomBytes(200_000, 7)
  const long = pseudoRandomBytes(5000, 8)

  const mkfs = (name: string, type: 12 | 16 | 32, size: number): string => {
    const img = join(tmp.dir, `${name}.img`)
    runOk('mkfs.fat', ['-C', '-F', String(type), '-n', 'EFISYS', img, String(size / 1024)])
    // mcopy -s copies a local tree, directories included, as a person filling an ESP would.
    const tree = join(tmp.dir, `${name}-tree`)
    const put = (data: Buffer, to: string): void => {
      mkdirSync(join(tree, to, '..'), { recursive: true })
      writeFileSync(join(tree, to), data)
    }
    put(loader, '/EFI/BOOT/BOOTX64.EFI')
    put(long, '/EFI/FreeBSD/a long loader name.efi')
    put(Buffer.from('lower'), '/EFI/readme.txt')
    runOk('mcopy', ['-s', '-i', img, join(tree, 'EFI'), '::/'])
    return img
  }

  for (const [type, size] of [
    [12, 2 * MiB],
    [16, 16 * MiB],
    [32, 40 * MiB],
  ] as const) {
    reader.it(`FAT${type}: lists directories, reads files, matches names case-insensitively like UEFI`, () => {
      const img = mkfs(`fat${type}`, type, size)
      const bytes = readFileSync(img)
      const v = FatVolume.open(bufferReadAt(bytes), bytes.length)
      expect(v.geometry.type).toBe(type)
      expect(v.geometry.volumeLabel).toBe('EFISYS')
      expect(v.readFile('/EFI/BOOT/BOOTX64.EFI').data.equals(loader)).toBe(true)
      expect(v.readFile('\\efi\\boot\\bootx64.efi').data.equals(loader)).toBe(true)
      expect(v.readFile('/EFI/FreeBSD/A LONG LOADER NAME.EFI').data.equals(long)).toBe(true)
      expect(v.readFile('/EFI/readme.txt').data.toString()).toBe('lower')
      const names = v.list('/EFI/FreeBSD').map((e) => e.name)
      expect(names).toEqual(['a long loader name.efi'])
      // mdir lists the same names: the reader and mtools agree on what is there.
      const mdir = runOk('mdir', ['-i', img, '-b', '::/EFI'], undefined)
        .trim()
        .split('\n')
        .map((l) => l.replace(/^::\/EFI\//, ''))
        .sort()
      expect(
        v
          .list('/EFI')
          .map((e) => e.name)
          .sort(),
      ).toEqual(mdir.map((l) => l.replace(/\/$/, '')))
      expect(() => v.readFile('/EFI/BOOT/BOOTIA32.EFI')).toThrow(ImagePathError)
    })
  }

  reader.it('refuses a volume whose cluster chain loops, instead of reading forever', () => {
    const img = mkfs('loop', 16, 16 * MiB)
    const bytes = readFileSync(img)
    const v = FatVolume.open(bufferReadAt(bytes), bytes.length)
    const first = v.lookup('/EFI/BOOT/BOOTX64.EFI')?.firstCluster ?? 0
    const fatAt = v.geometry.reservedSectors * 512
    bytes.writeUInt16LE(first, fatAt + (first + 1) * 2) // second cluster points back at the first
    const damaged = FatVolume.open(bufferReadAt(bytes), bytes.length)
    expect(() => damaged.readFile('/EFI/BOOT/BOOTX64.EFI')).toThrow(ImageFormatError)
  })

  reader.it('refuses a boot sector that is not FAT', () => {
    const junk = pseudoRandomBytes(1 * MiB, 3)
    expect(() => FatVolume.open(bufferReadAt(junk), junk.length)).toThrow(ImageFormatError)
  })
})

writer.describe('FAT writer checked by fsck.fat and mdir', () => {
  const tmp = tempDir('fat-writer-')
  afterAll(tmp.cleanup)
  const files = {
    '/EFI/BOOT/BOOTX64.EFI': pseudoRandomBytes(100_000, 1),
    '/EFI/FreeBSD/loader.efi': pseudoRandomBytes(3000, 2),
    '/EFI/FreeBSD/a rather long file name.txt': Buffer.from('hello'),
    '/startup.nsh': Buffer.from('fs0:\\EFI\\BOOT\\BOOTX64.EFI\r\n'),
  }

  for (const [type, size, spc] of [
    [12, 2 * MiB, 4],
    [16, 16 * MiB, 4],
    [32, 40 * MiB, 1],
  ] as const) {
    writer.it(`FAT${type}: fsck.fat finds nothing to fix; mdir and the reader see the files`, () => {
      const extents = buildFat({ size, type, sectorsPerCluster: spc, label: 'EFISYS', files })
      const img = join(tmp.dir, `w${type}.img`)
      writeExtents(img, size, extents)
      const fsck = run('fsck.fat', ['-n', '-v', img])
      expect(fsck.stdout + fsck.stderr).not.toMatch(/differ|invalid|Free cluster summary wrong|corrected|Orphan|bad/i)
      expect(fsck.status).toBe(0)
      const listing = runOk('mdir', ['-i', img, '-b', '-/', '::/'])
      expect(listing).toContain('::/EFI/BOOT/BOOTX64.EFI')
      expect(listing).toContain('::/EFI/FreeBSD/a rather long file name.txt')
      const out = join(tmp.dir, 'out.bin')
      runOk('mcopy', ['-n', '-i', img, '::/EFI/BOOT/BOOTX64.EFI', out])
      expect(readFileSync(out).equals(files['/EFI/BOOT/BOOTX64.EFI'])).toBe(true)
      const v = FatVolume.open(extentsReadAt(extents), size)
      expect(v.geometry.type).toBe(type)
      expect(v.readFile('/efi/freebsd/A RATHER LONG FILE NAME.TXT').data.toString()).toBe('hello')
    })
  }

  writer.it('refuses a size that does not give the asked FAT type', () => {
    expect(() => buildFat({ size: 2 * MiB, type: 32, files })).toThrow(/FAT12, not FAT32/)
  })
})
