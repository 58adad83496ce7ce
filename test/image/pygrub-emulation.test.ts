import { describe, expect, it } from 'vitest'
import { extentsReadAt, extentsToBuffer } from '../../src/image/extents.js'
import { pygrubBoot, type PygrubBootOptions, type PygrubBootResult } from '../../src/image/pygrub.js'
import { pygrubPartitionOffsets } from '../../src/image/pygrub-partitions.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { buildMbr, MBR_TYPE_FREEBSD, MBR_TYPE_SOLARIS } from '../../src/image/mbr.js'
import { buildUfs1 } from '../../src/image/ufs1-writer.js'
import { openUfs } from '../../src/image/ufs.js'
import { KERNEL, testDisks, type TestDisk } from './helpers/disks.js'

const disks = new Map(testDisks().map((d) => [d.name, d]))
function disk(name: string): TestDisk {
  const d = disks.get(name)
  if (d === undefined) throw new Error(`no test disk ${name}`)
  return d
}
function boot(name: string, opts: Partial<PygrubBootOptions> & Pick<PygrubBootOptions, 'flavour'>): PygrubBootResult {
  const d = disk(name)
  return pygrubBoot(extentsReadAt(d.extents), d.size, { kernel: '/boot/kernel/kernel', ...opts })
}
const summary = (r: PygrubBootResult): string => (r.ok ? `OK@${r.offset}` : r.message)

/** Verdicts of pygrub-ufs.md §0 (upstream = real Debian pygrub, xcp-ng = reconstructed). */
const TABLE: [string, string, string][] = [
  ['sample-a0', 'OK@32256', 'OK@32256'],
  ['sample-a16', 'Unable to find partition containing kernel', '[Errno 95] Operation not supported'],
  ['raw-ufs1', 'OK@0', 'OK@0'],
  ['raw-ufs1-nokernel', 'Error opening /boot/kernel/kernel in guest', 'Error opening /boot/kernel/kernel in guest'],
  ['raw-ufs1-kernel-symlink', 'Error opening /boot/kernel/kernel in guest', 'Error opening /boot/kernel/kernel in guest'],
  ['raw-ufs1-kernel-is-dir', 'Error opening /boot/kernel/kernel in guest', 'Error opening /boot/kernel/kernel in guest'],
  ['garbage', 'Unable to find partition containing kernel', 'Bootable disk has no valid filesystem'],
  ['garbage-fs', 'Unable to find partition containing kernel', '[Errno 95] Operation not supported'],
  ['two-slices', 'Error opening /boot/kernel/kernel in guest', 'Error opening /boot/kernel/kernel in guest'],
  ['gpt-boot-then-ufs1', `OK@${2048 * 512}`, '[Errno 95] Operation not supported'],
]

describe('pygrub emulation', () => {
  it.each(TABLE)('%s: upstream %s, xcp-ng %s', (name, upstream, xcpng) => {
    expect(summary(boot(name, { flavour: 'upstream' }))).toBe(upstream)
    expect(summary(boot(name, { flavour: 'xcp-ng' }))).toBe(xcpng)
  })

  it('returns the kernel bytes', () => {
    const r = boot('sample-a0', { flavour: 'upstream' })
    expect(r.ok && r.kernel.equals(KERNEL)).toBe(true)
  })

  it('boots the a16 disk once --offset names partition a', () => {
    for (const flavour of ['upstream', 'xcp-ng'] as const) {
      const r = boot('sample-a16', { flavour, offset: 32256 + 16 * 512 })
      expect(r.ok && r.kernel.equals(KERNEL)).toBe(true)
      expect(summary(boot('sample-a16', { flavour, offset: 32256 }))).toBe(flavour === 'upstream' ? 'Unable to find partition containing kernel' : '[Errno 95] Operation not supported')
    }
  })

  it('lists offsets in table order, skipping a slice that looks Solaris but has no VTOC', () => {
    const d = disk('swap-then-freebsd')
    const r = pygrubPartitionOffsets(extentsReadAt(d.extents), d.size)
    expect(r.ok && r.offsets).toHaveLength(1)
    expect(summary(boot('swap-then-freebsd', { flavour: 'xcp-ng' }))).toMatch(/^OK@/)
    const two = disk('two-slices')
    const offs = pygrubPartitionOffsets(extentsReadAt(two.extents), two.size)
    expect(offs.ok && offs.offsets[0]).toBe(63 * 512) // the inactive slice first: "active first" never matches in Python 3
  })

  it('follows a Solaris VTOC to its root slice', () => {
    const size = 8 * 1024 * 1024
    const fs = buildUfs1({ size: 4 * 1024 * 1024, files: { '/boot/kernel/kernel': KERNEL } })
    const vtoc = Buffer.alloc(512)
    vtoc.writeUInt16LE(0xdabe, 508)
    vtoc.writeUInt16LE(2, 30) // nslices
    vtoc.writeUInt16LE(2, 72 + 12) // slice 1 tag V_ROOT
    vtoc.writeUInt32LE(100, 72 + 12 + 4) // starts 100 sectors into the partition
    const img = extentsToBuffer(
      [
        { offset: 0, data: buildMbr([{ type: MBR_TYPE_SOLARIS, startLba: 2048, sectors: 8192 }]) },
        { offset: 2048 * 512 + 512, data: vtoc },
        ...fs.extents.map((e) => ({ offset: e.offset + (2048 + 100) * 512, data: e.data })),
      ],
      size,
    )
    const r = pygrubBoot(bufferReadAt(img), size, { kernel: '/boot/kernel/kernel', flavour: 'upstream' })
    expect(summary(r)).toBe(`OK@${(2048 + 100) * 512}`)
  })

  it('boots /xenkernel on XCP-ng (always-boot-default), the requested kernel upstream', () => {
    const up = boot('raw-ufs1-xenkernel', { flavour: 'upstream' })
    const xcp = boot('raw-ufs1-xenkernel', { flavour: 'xcp-ng' })
    expect(up.ok && up.kernel.equals(KERNEL)).toBe(true)
    expect(xcp.ok && xcp.kernel.toString()).toBe('\x7fELF xen kernel')
  })

  it('without --kernel finds no GRUB config on a FreeBSD disk', () => {
    for (const kernel of [undefined, '']) {
      const d = disk('sample-a0')
      const r = pygrubBoot(extentsReadAt(d.extents), d.size, { flavour: 'upstream', ...(kernel === undefined ? {} : { kernel }) })
      expect(summary(r)).toBe('Unable to find partition containing kernel')
    }
    const size = 8 * 1024 * 1024
    const withMenu = buildUfs1({ size, files: { '/boot/grub/menu.lst': Buffer.from('default 0\n') } })
    expect(summary(pygrubBoot(extentsReadAt(withMenu.extents), size, { flavour: 'upstream' }))).toMatch(/not emulated/)
  })

  it('reports, rather than reproduces, the hang on a zero d_reclen', () => {
    const size = 8 * 1024 * 1024
    const buf = extentsToBuffer(buildUfs1({ size, files: { '/boot/kernel/kernel': KERNEL } }).extents, size)
    const vol = openUfs(bufferReadAt(buf), size)
    const rootData = (vol.inode(2).db[0] ?? 0) * vol.sb.fsize
    buf.writeUInt16LE(0, rootData + 4) // "." has d_reclen 0 and is not "boot": pygrub loops forever
    expect(summary(pygrubBoot(bufferReadAt(buf), size, { kernel: '/boot/kernel/kernel', flavour: 'upstream' }))).toMatch(/hangs/)
  })

  it('only counts a slice as FreeBSD through its MBR entry, not its label', () => {
    const img = extentsToBuffer([{ offset: 0, data: buildMbr([{ type: MBR_TYPE_FREEBSD, startLba: 63, sectors: 100 }]) }], 65536)
    const r = pygrubPartitionOffsets(bufferReadAt(img), img.length)
    expect(r).toEqual({ ok: true, offsets: [63 * 512] })
  })
})
