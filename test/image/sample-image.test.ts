import { closeSync, fstatSync, openSync, statSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseDisklabel, partitionStartInSlice, disklabelProblems } from '../../src/image/disklabel.js'
import { extentsReadAt } from '../../src/image/extents.js'
import { MBR_TYPE_FREEBSD, parseMbr } from '../../src/image/mbr.js'
import { fileReadAt, subReadAt } from '../../src/image/read-at.js'
import { buildSampleImage, SAMPLE_FSTAB } from '../../src/image/sample-image.js'
import { openUfs } from '../../src/image/ufs.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { checkUfs } from './helpers/ufs-check.js'
import { tempDir } from './helpers/tools.js'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('sample FreeBSD image (HOWTO layout)', () => {
  const { layout, extents } = buildSampleImage()
  const read = extentsReadAt(extents)

  it('has the documented layout', () => {
    expect(layout).toMatchObject({ diskSize: 64 * 1024 * 1024, sliceOffset: 63 * 512, partitionOffset: 63 * 512, kernelPath: '/boot/kernel/kernel' })
    expect(layout.kernelSize).toBeGreaterThan(3 * 1024 * 1024)
    expect(layout.kernelSize).toBeLessThan(3.1 * 1024 * 1024)
  })

  it('has one active FreeBSD slice at LBA 63 and a FreeBSD label with a at slice offset 0', () => {
    const mbr = parseMbr(read(0, 512))
    expect(mbr.signatureValid).toBe(true)
    expect(mbr.entries[0]).toMatchObject({ type: MBR_TYPE_FREEBSD, active: true, startLba: 63, sectors: 131072 - 63 })
    expect(mbr.entries.slice(1).every((e) => e.type === 0)).toBe(true)
    const label = parseDisklabel(read(63 * 512 + 512, 512))
    expect(disklabelProblems(label, 131072 - 63)).toEqual([])
    expect(label.partitions[0]).toMatchObject({ fstype: 7, offset: 63, size: 131072 - 63 })
    expect(partitionStartInSlice(label, 0)).toBe(0)
  })

  it('holds a consistent UFS1 with the kernel, fstab and ttys', () => {
    const part = subReadAt(read, layout.partitionOffset)
    const size = layout.diskSize - layout.partitionOffset
    const vol = openUfs(part, size)
    expect(vol.sb).toMatchObject({ version: 1, location: 8192, bsize: 16384, fsize: 2048 })
    const kernel = vol.readFile('/boot/kernel/kernel')
    expect(kernel.mode).toBe(0o100555)
    expect(sha256(kernel.data)).toBe(layout.kernelSha256)
    expect(kernel.data.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
    expect(kernel.data.readUInt8(7)).toBe(9) // ELFOSABI_FREEBSD
    expect(kernel.data.readUInt16LE(18)).toBe(0x3e) // x86-64
    expect(vol.readFile('/etc/fstab').data.toString()).toBe(SAMPLE_FSTAB)
    expect(vol.readFile('/etc/fstab').data.toString()).toMatch(/^\/dev\/xbd0s1a\s+\/\s+ufs\s+rw\s+1\s+1$/m)
    expect(vol.readFile('/etc/ttys').data.toString()).toMatch(/^xc0\s+"\/usr\/libexec\/getty Pc"\s+vt100\s+on\s+secure$/m)
    expect(checkUfs(part, size)).toEqual([])
  })

  it('puts `a` 16 sectors into the slice on request (the layout pygrub cannot boot)', () => {
    const a16 = buildSampleImage({ partitionOffsetSectors: 16 })
    expect(a16.layout.partitionOffset).toBe(63 * 512 + 16 * 512)
    const r = extentsReadAt(a16.extents)
    const label = parseDisklabel(r(63 * 512 + 512, 512))
    expect(partitionStartInSlice(label, 0)).toBe(16)
    expect(r(a16.layout.sliceOffset + 8192 + 1372, 4).readUInt32LE(0)).not.toBe(0x011954)
    expect(r(a16.layout.partitionOffset + 8192 + 1372, 4).readUInt32LE(0)).toBe(0x011954)
  })

  it('is deterministic per seed and small in memory', () => {
    expect(buildSampleImage({ diskSize: 8 * 1024 * 1024, kernelSize: 100_000 }).layout.kernelSha256).toBe(buildSampleImage({ diskSize: 8 * 1024 * 1024, kernelSize: 100_000 }).layout.kernelSha256)
    expect(buildSampleImage({ diskSize: 8 * 1024 * 1024, kernelSize: 100_000, seed: 2 }).layout.kernelSha256).not.toBe(
      buildSampleImage({ diskSize: 8 * 1024 * 1024, kernelSize: 100_000 }).layout.kernelSha256,
    )
    const bytes = extents.reduce((n, e) => n + e.data.length, 0)
    expect(bytes).toBeLessThan(layout.kernelSize + 512 * 1024)
    expect(() => buildSampleImage({ diskSize: 1000 })).toThrow(RangeError)
  })
})

describe('writeSampleImage', () => {
  const tmp = tempDir('sample-')
  afterAll(tmp.cleanup)

  it('writes a sparse file of the disk size with the same bytes as the extents', async () => {
    const path = join(tmp.dir, 'disk.img')
    const layout = await writeSampleImage(path, { diskSize: 32 * 1024 * 1024, seed: 5 })
    const st = statSync(path)
    expect(st.size).toBe(32 * 1024 * 1024)
    expect(st.blocks * 512).toBeLessThan(8 * 1024 * 1024) // holes stay holes
    const fd = openSync(path, 'r')
    try {
      const read = fileReadAt(fd, fstatSync(fd).size)
      const vol = openUfs(subReadAt(read, layout.partitionOffset), layout.diskSize - layout.partitionOffset)
      expect(sha256(vol.readFile(layout.kernelPath).data)).toBe(layout.kernelSha256)
      expect(read(layout.diskSize - 10, 20)).toEqual(Buffer.alloc(20)) // zero-filled past the end
    } finally {
      closeSync(fd)
    }
  })
})
