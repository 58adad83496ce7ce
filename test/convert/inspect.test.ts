import { afterAll, describe, expect, it } from 'vitest'
import { bufferReadAt } from '../../src/image/read-at.js'
import { inspectGuest } from '../../src/convert/inspect.js'
import { patchedReadAt } from '../../src/convert/boot-blocks.js'
import { kernelKind, readKernelElf } from '../../src/convert/xen-elf.js'
import { buildSampleImage } from '../../src/image/sample-image.js'
import { tempDir } from '../image/helpers/tools.js'
import { needs } from '../support/oracles.js'
import { elfKernel, fixedGuestFiles, fstab, genericKernel, gptGuest, mbrGuest, pvKernel, readImage, stubBoot, stubBoot0 } from './helpers/guests.js'

/** Buffer.equals: vitest's deep equality walks megabytes byte by byte. */
const same = (a: Buffer, b: Buffer): void => expect(a.equals(b), `${a.length} bytes differ`).toBe(true)
const byId = (r: ReturnType<typeof inspectGuest>): Record<string, { status: string; fixed_by: string; message: string; fix: string }> => Object.fromEntries(r.items.map((i) => [i.id, i]))

describe('Xen PV kernels, from their ELF notes and sections', () => {
  const kind = (k: Buffer): string => kernelKind(readKernelElf((o, n) => k.subarray(o, o + n), k.length)!)
  it("FreeBSD's PV kernel (PV entry notes, no PVH entry) only runs as PV", () => expect(kind(pvKernel())).toBe('pv-only'))
  it('a legacy __xen_guest section marks a PV kernel too', () => expect(kind(elfKernel({ bits: 32, xenGuest: 'GUEST_OS=FreeBSD,XEN_VER=xen-3.0,LOADER=generic' }))).toBe('pv-only'))
  it('a GENERIC kernel (no PV entry) boots as HVM', () => expect(kind(genericKernel())).toBe('hvm-capable'))
  it('a PVH entry (PHYS32_ENTRY) next to the PV one means a kernel that also boots as HVM', () =>
    expect(
      kind(
        elfKernel({
          bits: 64,
          notes: [
            { type: 1, desc: Buffer.alloc(8) },
            { type: 18, desc: Buffer.alloc(4) },
          ],
        }),
      ),
    ).toBe('hvm-capable'))
  it('a Linux pvops kernel with PV notes boots as HVM', () =>
    expect(
      kind(
        elfKernel({
          bits: 64,
          notes: [
            { type: 6, desc: Buffer.from('linux\0') },
            { type: 1, desc: Buffer.alloc(8) },
          ],
        }),
      ),
    ).toBe('hvm-capable'))
})

describe("the HOWTO's sample PV image as built", () => {
  it('is refused for exactly what must be fixed inside the guest: boot files, kernel, fstab', () => {
    const { layout, extents } = buildSampleImage()
    const disk = Buffer.alloc(layout.diskSize)
    for (const e of extents) e.data.copy(disk, e.offset)
    const r = inspectGuest(bufferReadAt(disk), disk.length, 'vfs.root.mountfrom=ufs:/dev/xbd0s1a')
    const items = byId(r)
    expect(r.items.filter((i) => i.status === 'blocks').map((i) => `${i.id}:${i.fixed_by}`)).toEqual(['mbr-boot-code:guest', 'slice-boot:guest', 'loader:guest', 'kernel:guest', 'fstab:guest'])
    expect(items.kernel?.message).toContain('no loadable segments')
    expect(items.console?.status).toBe('warn')
    expect(r.plan.patches).toEqual([])
    expect(r.biosNow.boots).toBe(false)
  })
})

needs('makefs', 'sfdisk').describe('guests built with makefs and sfdisk', () => {
  const tmp = tempDir('convert-inspect-')
  afterAll(() => tmp.cleanup())

  for (const [version, aOffset] of [
    [1, 0],
    [1, 16],
    [2, 16],
  ] as const) {
    it(`MBR + label, UFS${version} root at slice offset ${aOffset}: boot0 and boot1/boot2 from the guest's /boot land where boot0cfg -B and bsdlabel -B put them, and nothing else changes`, () => {
      const g = mbrGuest(tmp.dir, `mbr-ufs${version}-a${aOffset}`, fixedGuestFiles(), { version, aOffset })
      const disk = readImage(g.path)
      const r = inspectGuest(bufferReadAt(disk), disk.length, '')
      expect(r.items.filter((i) => i.status === 'blocks').map((i) => `${i.id}:${i.fixed_by}`)).toEqual(['mbr-boot-code:install-bootcode', 'slice-boot:install-bootcode'])
      expect(r.biosNow.boots).toBe(false)
      expect(r.biosAfter.boots, JSON.stringify(r.biosAfter.problems)).toBe(true)
      const after = Buffer.from(disk)
      for (const p of r.plan.patches) p.data.copy(after, p.offset)
      same(after.subarray(0, 446), stubBoot0().subarray(0, 446))
      same(after.subarray(446, 512), disk.subarray(446, 512))
      same(after.subarray(g.slice, g.slice + 512), stubBoot().subarray(0, 512))
      same(after.subarray(g.slice + 512, g.slice + 1024), disk.subarray(g.slice + 512, g.slice + 1024))
      same(after.subarray(g.slice + 1024, g.slice + 8192), stubBoot().subarray(1024))
      same(after.subarray(g.slice + 8192), disk.subarray(g.slice + 8192))
      same(patchedReadAt(bufferReadAt(disk), r.plan.patches)(0, 512), after.subarray(0, 512))
    })
  }

  it('the PV kernel still at /boot/kernel, a GENERIC one beside it: the fix names loader.conf', () => {
    const files: Record<string, Buffer> = { ...fixedGuestFiles(), '/boot/kernel/kernel': pvKernel(), '/boot/kernel.GENERIC/kernel': genericKernel() }
    delete files['/boot/kernel.xen/kernel']
    const disk = readImage(mbrGuest(tmp.dir, 'two-kernels', files, { version: 1, aOffset: 0 }).path)
    const k = byId(inspectGuest(bufferReadAt(disk), disk.length, '')).kernel!
    expect(k.status).toBe('blocks')
    expect(k.message).toContain('only runs as a Xen PV guest')
    expect(k.fix).toContain('kernel="kernel.GENERIC" in /boot/loader.conf')
  })

  it('xbd names in fstab and loader.conf block, with the ada name as the fix', () => {
    const files = { ...fixedGuestFiles(), '/etc/fstab': fstab('/dev/xbd0s1a'), '/boot/loader.conf': Buffer.from('vfs.root.mountfrom="ufs:/dev/xbd0s1a"\n') }
    const disk = readImage(mbrGuest(tmp.dir, 'xbd', files, { version: 1, aOffset: 0 }).path)
    const items = byId(inspectGuest(bufferReadAt(disk), disk.length, ''))
    expect(items.fstab?.status).toBe('blocks')
    expect(JSON.stringify(items.fstab)).toContain('/dev/ada0s1a')
    expect(items['loader-conf-mountfrom']?.status).toBe('blocks')
  })

  it('GPT: pmbr into the MBR code area, gptboot into the empty freebsd-boot partition', () => {
    const g = gptGuest(tmp.dir, 'gpt', fixedGuestFiles())
    const disk = readImage(g.path)
    const r = inspectGuest(bufferReadAt(disk), disk.length, '')
    expect(r.plan.patches.map((p) => [p.source, p.offset])).toEqual([
      ['/boot/pmbr', 0],
      ['/boot/gptboot', g.bootStart],
    ])
    expect(r.biosAfter.boots, JSON.stringify(r.biosAfter.problems)).toBe(true)
  })

  it("a guest without the world's boot files is refused, naming them", () => {
    const files = fixedGuestFiles()
    delete files['/boot/boot0']
    delete files['/boot/boot']
    const disk = readImage(mbrGuest(tmp.dir, 'nobootfiles', files, { version: 1, aOffset: 0 }).path)
    const items = byId(inspectGuest(bufferReadAt(disk), disk.length, ''))
    expect(items['mbr-boot-code']?.fixed_by).toBe('guest')
    expect(items['mbr-boot-code']?.fix).toContain('no /boot/boot0')
    expect(items['slice-boot']?.fixed_by).toBe('guest')
  })
})
