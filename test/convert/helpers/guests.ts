/**
 * Guest disks for the convert tests, built with real tools (makefs for the UFS root,
 * sfdisk for the MBR or GPT) and FreeBSD's label written by hand as the corpus does.
 * The boot programs are stand-ins marked as samples: each has only the shape the
 * firmware and the tool look at (0x55AA, boot1 + label space + boot2, ELF headers).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stubLoader } from '../../../src/image/boot-stubs.js'
import { buildDisklabel } from '../../../src/image/disklabel.js'
import { GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_UFS } from '../../../src/image/gpt.js'
import { SAMPLE_TTYS } from '../../../src/image/sample-image.js'
import { makefs } from '../../preflight/helpers/corpus.js'
import { writeExtents } from '../../image/helpers/images.js'
import { runOk } from '../../image/helpers/tools.js'

const MARK = 'xcp-provision SAMPLE: not a real boot program'
const HALT = [0xfa, 0xf4, 0xeb, 0xfd]

function sector(text: string, size = 512): Buffer {
  const b = Buffer.alloc(size)
  Buffer.from(HALT).copy(b)
  b.write(`${text} ${MARK}`, 8, 'latin1')
  b.writeUInt16LE(0xaa55, 510)
  return b
}

/** /boot/boot0 and /boot/pmbr: 512 bytes of code, a table area the tool must not copy, 0x55AA. */
export const stubBoot0 = (): Buffer => {
  const b = sector('boot0')
  b.fill(0xee, 446, 510) // a bogus table: --install-bootcode must keep the disk's own
  return b
}
/** /boot/boot: boot1 (sector 0, 0x55AA), a zero sector where bsdlabel puts the label, boot2. */
export function stubBoot(): Buffer {
  const b = Buffer.alloc(8192)
  sector('boot1').copy(b, 0)
  b.write(`boot2 ${MARK}`, 1024, 'latin1')
  b.fill(0xb2, 2048, 8192)
  return b
}
export const stubGptboot = (): Buffer => Buffer.concat([sector('gptboot'), Buffer.alloc(15 * 1024, 0x9b)])

interface ElfOpts {
  bits: 32 | 64
  notes?: { type: number; desc: Buffer }[]
  xenGuest?: string
}

/** An ELF kernel with one PT_LOAD, optional Xen notes (PT_NOTE) and an optional __xen_guest section. */
export function elfKernel(o: ElfOpts): Buffer {
  const w = o.bits === 64
  const eh = w ? 64 : 52
  const ph = w ? 56 : 32
  const sh = w ? 64 : 40
  const notes = Buffer.concat(
    (o.notes ?? []).map((n) => {
      const h = Buffer.alloc(16)
      h.writeUInt32LE(4, 0)
      h.writeUInt32LE(n.desc.length, 4)
      h.writeUInt32LE(n.type, 8)
      h.write('Xen\0', 12, 'latin1')
      const d = Buffer.alloc((n.desc.length + 3) & ~3)
      n.desc.copy(d)
      return Buffer.concat([h, d])
    }),
  )
  const guest = o.xenGuest === undefined ? Buffer.alloc(0) : Buffer.from(`${o.xenGuest}\0`, 'latin1')
  const names = Buffer.from('\0.shstrtab\0__xen_guest\0', 'latin1')
  const phnum = notes.length ? 2 : 1
  const notesAt = eh + phnum * ph
  const guestAt = notesAt + notes.length
  const namesAt = guestAt + guest.length
  const shAt = namesAt + names.length
  const shnum = guest.length ? 3 : 0
  const f = Buffer.alloc(Math.max(shAt + shnum * sh, 8192))
  f.write('\x7fELF', 0, 'latin1')
  f[4] = w ? 2 : 1
  f[5] = 1
  f[6] = 1
  f[7] = 9
  f.writeUInt16LE(2, 16)
  f.writeUInt16LE(w ? 0x3e : 3, 18)
  f.writeUInt32LE(1, 20)
  const put = (v: number, at32: number, at64: number): void => {
    if (w) f.writeBigUInt64LE(BigInt(v), at64)
    else f.writeUInt32LE(v, at32)
  }
  put(eh, 28, 32) // e_phoff
  put(shnum ? shAt : 0, 32, 40) // e_shoff
  f.writeUInt16LE(eh, w ? 52 : 40)
  f.writeUInt16LE(ph, w ? 54 : 42)
  f.writeUInt16LE(phnum, w ? 56 : 44)
  f.writeUInt16LE(sh, w ? 58 : 46)
  f.writeUInt16LE(shnum, w ? 60 : 48)
  f.writeUInt16LE(shnum ? 1 : 0, w ? 62 : 50)
  f.writeUInt32LE(1, eh) // PT_LOAD
  if (notes.length) {
    const p = eh + ph
    f.writeUInt32LE(4, p)
    if (w) {
      f.writeBigUInt64LE(BigInt(notesAt), p + 8)
      f.writeBigUInt64LE(BigInt(notes.length), p + 32)
    } else {
      f.writeUInt32LE(notesAt, p + 4)
      f.writeUInt32LE(notes.length, p + 16)
    }
    notes.copy(f, notesAt)
  }
  guest.copy(f, guestAt)
  names.copy(f, namesAt)
  const sec = (i: number, name: number, off: number, size: number): void => {
    const at = shAt + i * sh
    f.writeUInt32LE(name, at)
    if (w) {
      f.writeBigUInt64LE(BigInt(off), at + 24)
      f.writeBigUInt64LE(BigInt(size), at + 32)
    } else {
      f.writeUInt32LE(off, at + 16)
      f.writeUInt32LE(size, at + 20)
    }
  }
  if (shnum) {
    sec(1, 1, namesAt, names.length)
    sec(2, 11, guestAt, guest.length)
  }
  return f
}

/** FreeBSD 9's i386 XEN kernel as the domain builder sees it: PV entry notes, GUEST_OS=FreeBSD, no PVH entry. */
export const pvKernel = (): Buffer =>
  elfKernel({
    bits: 32,
    notes: [
      { type: 6, desc: Buffer.from('FreeBSD\0') },
      { type: 1, desc: Buffer.alloc(4, 1) },
      { type: 2, desc: Buffer.alloc(4, 2) },
    ],
  })
/** A GENERIC i386 kernel of the same release: no PV entry. */
export const genericKernel = (): Buffer => elfKernel({ bits: 32 })

export const fstab = (dev: string): Buffer => Buffer.from(`# Device\tMountpoint\tFStype\tOptions\tDump\tPass#\n${dev}\t/\tufs\trw\t1\t1\n`)
export const HVM_TTYS = Buffer.from(SAMPLE_TTYS.replace(/ttyv0(.*)off/, 'ttyv0$1on') + 'ttyu0\t"/usr/libexec/getty std.9600"\tvt100\ton\tsecure\n')

/** The HOWTO's guest after the fixes made inside it while it still ran PV: GENERIC kernel, world's /boot files, ada0 in fstab. */
export function fixedGuestFiles(): Record<string, Buffer> {
  return {
    '/boot/kernel/kernel': genericKernel(),
    '/boot/kernel.xen/kernel': pvKernel(),
    '/boot/loader': stubLoader(),
    '/boot/boot0': stubBoot0(),
    '/boot/boot': stubBoot(),
    '/boot/pmbr': stubBoot0(),
    '/boot/gptboot': stubGptboot(),
    '/etc/fstab': fstab('/dev/ada0s1a'),
    '/etc/ttys': HVM_TTYS,
  }
}

const SLICE_LBA = 63

/** sfdisk MBR with one active 0xa5 slice at LBA 63, a bsdlabel-style label, a makefs root at `a` (slice offset 0 or 16). */
export function mbrGuest(dir: string, name: string, files: Record<string, Buffer>, o: { version: 1 | 2; aOffset: 0 | 16 }): { path: string; slice: number } {
  const fs = makefs(dir, name, o.version === 1 ? 'version=1,bsize=16384,fsize=2048' : 'version=2,bsize=16384,fsize=2048', 8 * 1024 * 1024, files)
  const sliceSectors = fs.length / 512 + o.aOffset
  const path = join(dir, `${name}.img`)
  writeExtents(path, (SLICE_LBA + sliceSectors) * 512, [
    { offset: (SLICE_LBA + o.aOffset) * 512, data: fs },
    { offset: (SLICE_LBA + 1) * 512, data: buildDisklabel({ sliceSectors, partitionOffset: o.aOffset, offsetBase: SLICE_LBA }) },
  ])
  runOk('sfdisk', ['--no-reread', '--no-tell-kernel', path], `label: dos\nunit: sectors\nstart=${SLICE_LBA}, size=${sliceSectors}, type=a5, bootable\n`)
  return { path, slice: SLICE_LBA * 512 }
}

/** sfdisk GPT: p1 freebsd-boot left empty, p2 freebsd-ufs holding a makefs root. */
export function gptGuest(dir: string, name: string, files: Record<string, Buffer>): { path: string; bootStart: number } {
  const fs = makefs(dir, name, 'version=2,bsize=16384,fsize=2048', 8 * 1024 * 1024, files)
  const p2 = 2048
  const path = join(dir, `${name}.img`)
  writeExtents(path, (p2 + fs.length / 512 + 34) * 512, [{ offset: p2 * 512, data: fs }])
  runOk(
    'sfdisk',
    ['--no-reread', '--no-tell-kernel', path],
    `label: gpt\nfirst-lba: 34\nstart=40, size=1024, type=${GPT_TYPE_FREEBSD_BOOT}\nstart=${p2}, size=${fs.length / 512}, type=${GPT_TYPE_FREEBSD_UFS}\n`,
  )
  return { path, bootStart: 40 * 512 }
}

export const readImage = (path: string): Buffer => readFileSync(path)
