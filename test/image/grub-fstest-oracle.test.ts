import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { pseudoRandomBytes } from '../../src/image/prng.js'
import { SAMPLE_FSTAB, SAMPLE_TTYS } from '../../src/image/sample-image.js'
import { buildUfs1 } from '../../src/image/ufs1-writer.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { fakeKernel } from '../../src/image/fake-kernel.js'
import { writeExtents } from './helpers/images.js'
import { run, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const MiB = 1024 * 1024

/**
 * GRUB's own UFS driver (grub-fstest, grub-common) as an independent reader of what
 * the writer produces. `cmp` exits 0 only when the file matches the local copy.
 * (GRUB 2.06 reads UFS symlink targets one byte short, on makefs images too, so
 * symlinks are left out.)
 */
needs('grub-fstest').describe('grub-fstest reads the UFS1 the writer makes', () => {
  const tmp = tempDir('grub-fstest-')
  afterAll(tmp.cleanup)

  const expectSame = (image: string, path: string, data: Buffer): void => {
    const local = join(tmp.dir, 'expected.bin')
    writeFileSync(local, data)
    const r = run('grub-fstest', [image, 'cmp', path, local])
    expect(r.stderr, `${path} in ${image}`).toBe('')
    expect(r.status).toBe(0)
  }

  it('finds the sample files in the FreeBSD slice (msdos1)', async () => {
    const image = join(tmp.dir, 'sample.img')
    const layout = await writeSampleImage(image, { seed: 3 })
    expectSame(image, '(loop0,msdos1)/boot/kernel/kernel', fakeKernel(layout.kernelSize, 3))
    expectSame(image, '(loop0,msdos1)/etc/fstab', Buffer.from(SAMPLE_FSTAB))
    expectSame(image, '(loop0,msdos1)/etc/ttys', Buffer.from(SAMPLE_TTYS))
    expect(run('grub-fstest', [image, 'ls', '(loop0,msdos1)/etc']).stdout.trim().split(/\s+/).sort()).toEqual(['fstab', 'ttys'])
  })

  it.each([
    [4096, 512],
    [16384, 2048],
    [32768, 4096],
  ] as const)('reads files through direct, indirect and double indirect blocks (%i/%i)', (bsize, fsize) => {
    const big = pseudoRandomBytes(6_000_000, bsize)
    const small = pseudoRandomBytes(3000, 1) // a fragment tail
    const files: Record<string, Buffer> = { '/boot/kernel/kernel': big, '/etc/small': small }
    for (let i = 0; i < 120; i++) files[`/many/entry-number-${i}`] = Buffer.from(`file ${i}\n`)
    const image = join(tmp.dir, `raw-${bsize}.img`)
    writeExtents(image, 16 * MiB, buildUfs1({ size: 16 * MiB, bsize, fsize, files }).extents)
    expectSame(image, '/boot/kernel/kernel', big)
    expectSame(image, '/etc/small', small)
    expectSame(image, '/many/entry-number-119', Buffer.from('file 119\n'))
    expect(run('grub-fstest', [image, 'ls', '/many']).stdout.trim().split(/\s+/)).toHaveLength(120)
  })
})
