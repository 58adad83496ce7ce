import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { pygrubBoot, type PygrubBootResult } from '../../src/image/pygrub.js'
import { fileReadAt } from '../../src/image/read-at.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { testDisks } from './helpers/disks.js'
import { writeExtents } from './helpers/images.js'
import { realPygrub, type RealPygrub } from './helpers/pygrub-run.js'
import { tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function emulate(path: string, opts: { offset?: number; flavour: 'upstream' | 'xcp-ng' }): PygrubBootResult {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    return pygrubBoot(fileReadAt(fd, size), size, { kernel: '/boot/kernel/kernel', ...opts })
  } finally {
    closeSync(fd)
  }
}

/** Same verdict, and the same kernel bytes when both boot. */
function expectAgree(real: RealPygrub, emulated: PygrubBootResult, what: string): void {
  if (real.ok) {
    expect(emulated.ok, `${what}: real pygrub booted, emulation said ${emulated.ok ? '' : emulated.message}`).toBe(true)
    if (emulated.ok) expect(sha256(emulated.kernel), what).toBe(sha256(real.kernel))
  } else {
    expect(emulated.ok ? 'booted' : emulated.message, `${what}: real pygrub said ${real.message}`).toBe(real.message)
  }
}

needs('pygrub').describe('real pygrub (Debian xen-utils-4.17) against the sample image and the emulation', () => {
  const tmp = tempDir('pygrub-oracle-')
  afterAll(tmp.cleanup)

  it('extracts the a0 sample kernel byte for byte, from the slice offset', async () => {
    const image = join(tmp.dir, 'sample-a0.img')
    const layout = await writeSampleImage(image)
    const real = await realPygrub(image, tmp.dir, ['--kernel=/boot/kernel/kernel'])
    expect(real.ok ? sha256(real.kernel) : real.stderr).toBe(layout.kernelSha256)
    const emulated = emulate(image, { flavour: 'upstream' })
    expect(emulated.ok && emulated.offset).toBe(layout.sliceOffset)
    expectAgree(real, emulated, 'a0')
    expect(emulate(image, { flavour: 'xcp-ng' }).ok).toBe(true)
  })

  it('cannot boot the a16 variant, like the emulation (both flavours); --offset=<a> fixes it', async () => {
    const image = join(tmp.dir, 'sample-a16.img')
    const layout = await writeSampleImage(image, { partitionOffsetSectors: 16 })
    const real = await realPygrub(image, tmp.dir, ['--kernel=/boot/kernel/kernel'])
    expect(real.ok ? 'booted' : real.message).toBe('Unable to find partition containing kernel')
    expectAgree(real, emulate(image, { flavour: 'upstream' }), 'a16')
    expect(emulate(image, { flavour: 'xcp-ng' })).toEqual({ ok: false, message: '[Errno 95] Operation not supported' })

    const fixed = await realPygrub(image, tmp.dir, ['--kernel=/boot/kernel/kernel', `--offset=${layout.partitionOffset}`])
    expect(fixed.ok ? sha256(fixed.kernel) : fixed.stderr).toBe(layout.kernelSha256)
    for (const flavour of ['upstream', 'xcp-ng'] as const) expectAgree(fixed, emulate(image, { offset: layout.partitionOffset, flavour }), `a16 --offset ${flavour}`)
  })

  it('gives the same verdict as the emulation on every test disk', async () => {
    const disks = testDisks()
    const results = await Promise.all(
      disks.map(async (d) => {
        const path = join(tmp.dir, `${d.name}.img`)
        writeExtents(path, d.size, d.extents)
        return { d, path, real: await realPygrub(path, tmp.dir, ['--kernel=/boot/kernel/kernel']) }
      }),
    )
    for (const { d, path, real } of results) expectAgree(real, emulate(path, { flavour: 'upstream' }), d.name)
    expect(
      results
        .filter((r) => r.real.ok)
        .map((r) => r.d.name)
        .sort(),
    ).toEqual(['gpt-boot-then-ufs1', 'raw-ufs1', 'raw-ufs1-xenkernel', 'sample-a0', 'swap-then-freebsd'])
  })
})
