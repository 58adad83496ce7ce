/**
 * What a kernel tells Xen's domain builder about itself (xen/include/public/elfnote.h,
 * libelf's elf_xen_parse): "Xen" ELF notes in a PT_NOTE segment, or the older
 * `__xen_guest` section of comma-separated KEY=VALUE strings. Only what the PV/HVM
 * question needs is read, through `read` on the file, so a 20 MiB kernel costs a few
 * small reads: the ELF header, the program and section headers, the notes.
 */
export type FileRead = (offset: number, length: number) => Buffer

export const XEN_ELFNOTE_ENTRY = 1
export const XEN_ELFNOTE_HYPERCALL_PAGE = 2
export const XEN_ELFNOTE_GUEST_OS = 6
export const XEN_ELFNOTE_PAE_MODE = 9
export const XEN_ELFNOTE_FEATURES = 10
export const XEN_ELFNOTE_PHYS32_ENTRY = 18
const PT_LOAD = 1
const PT_NOTE = 4
const MAX_HEADERS = 256
const MAX_NOTES_BYTES = 64 * 1024

export interface KernelElf {
  bits: 32 | 64
  machine: 'i386' | 'amd64' | string
  osabi: number
  loadSegments: number
  /** Xen note types found (numbers from elfnote.h) and the string ones' values. */
  xenNotes: number[]
  guestOs: string | null
  /** The legacy `__xen_guest` section's text, if any. */
  xenGuestSection: string | null
}

const MACHINES: Record<number, string> = { 3: 'i386', 0x3e: 'amd64' }

/** Null when `read` does not start an ELF file (or one of a class we do not know). */
export function readKernelElf(read: FileRead, size: number): KernelElf | null {
  if (size < 52) return null
  const h = read(0, Math.min(64, size))
  if (h.toString('latin1', 0, 4) !== '\x7fELF' || h[5] !== 1) return null
  const bits = h[4] === 1 ? 32 : h[4] === 2 ? 64 : null
  if (bits === null || (bits === 64 && size < 64)) return null
  const w = bits === 64
  const u = (b: Buffer, at: number): number => (w ? Number(b.readBigUInt64LE(at)) : b.readUInt32LE(at))
  const phoff = u(h, w ? 32 : 28)
  const shoff = u(h, w ? 40 : 32)
  const phentsize = h.readUInt16LE(w ? 54 : 42)
  const phnum = Math.min(h.readUInt16LE(w ? 56 : 44), MAX_HEADERS)
  const shentsize = h.readUInt16LE(w ? 58 : 46)
  const shnum = Math.min(h.readUInt16LE(w ? 60 : 48), MAX_HEADERS)
  const shstrndx = h.readUInt16LE(w ? 62 : 50)
  const inFile = (off: number, len: number): boolean => off >= 0 && len >= 0 && off + len <= size
  const out: KernelElf = { bits, machine: MACHINES[h.readUInt16LE(18)] ?? `e_machine ${h.readUInt16LE(18)}`, osabi: h[7] ?? 0, loadSegments: 0, xenNotes: [], guestOs: null, xenGuestSection: null }
  if (phnum > 0 && phentsize >= (w ? 56 : 32) && inFile(phoff, phnum * phentsize)) {
    const ph = read(phoff, phnum * phentsize)
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize
      const type = ph.readUInt32LE(at)
      if (type === PT_LOAD) out.loadSegments++
      if (type !== PT_NOTE) continue
      const off = u(ph, at + (w ? 8 : 4))
      const len = Math.min(u(ph, at + (w ? 32 : 16)), MAX_NOTES_BYTES)
      if (inFile(off, len)) readNotes(read(off, len), out)
    }
  }
  if (shnum > 0 && shentsize >= (w ? 64 : 40) && shstrndx < shnum && inFile(shoff, shnum * shentsize)) {
    const sh = read(shoff, shnum * shentsize)
    const secOff = (i: number): number => u(sh, i * shentsize + (w ? 24 : 16))
    const secSize = (i: number): number => u(sh, i * shentsize + (w ? 32 : 20))
    const strSize = Math.min(secSize(shstrndx), MAX_NOTES_BYTES)
    if (inFile(secOff(shstrndx), strSize)) {
      const names = read(secOff(shstrndx), strSize)
      for (let i = 0; i < shnum; i++) {
        const nameAt = sh.readUInt32LE(i * shentsize)
        const end = names.indexOf(0, nameAt)
        if (nameAt >= names.length || names.toString('latin1', nameAt, end < 0 ? names.length : end) !== '__xen_guest') continue
        const len = Math.min(secSize(i), 4096)
        if (inFile(secOff(i), len)) out.xenGuestSection = read(secOff(i), len).toString('latin1').replace(/\0.*$/s, '')
      }
    }
  }
  return out
}

function readNotes(b: Buffer, out: KernelElf): void {
  for (let at = 0; at + 12 <= b.length; ) {
    const namesz = b.readUInt32LE(at)
    const descsz = b.readUInt32LE(at + 4)
    const type = b.readUInt32LE(at + 8)
    const nameAt = at + 12
    const descAt = nameAt + align4(namesz)
    if (descAt + descsz > b.length) return
    const name = b.toString('latin1', nameAt, nameAt + namesz).replace(/\0+$/, '')
    if (name === 'Xen') {
      out.xenNotes.push(type)
      if (type === XEN_ELFNOTE_GUEST_OS) out.guestOs = b.toString('latin1', descAt, descAt + descsz).replace(/\0.*$/s, '')
    }
    at = descAt + align4(descsz)
  }
}

const align4 = (n: number): number => (n + 3) & ~3

export type KernelKind =
  /** Built for Xen PV only (FreeBSD's i386 XEN kernel config): no HVM boot path. */
  | 'pv-only'
  /** Carries a PVH entry point (PHYS32_ENTRY) or no Xen PV entry at all: boots on bare metal and in HVM. */
  | 'hvm-capable'
  /** Has no loadable segments: not a kernel any loader could start (the project's stand-in kernels). */
  | 'not-loadable'

/**
 * FreeBSD's rule, which this tool targets: the PV kernel (KERNCONF=XEN, i386, FreeBSD 8
 * to 10) announces a PV entry (`__xen_guest`, or XEN_ELFNOTE_ENTRY/HYPERCALL_PAGE notes)
 * and has no other way in; GENERIC kernels have no PV entry (before 11) or add a PVH
 * entry (PHYS32_ENTRY, 11 and later), and boot under the BIOS loader. Linux kernels with
 * PV notes are pvops kernels that also boot in HVM, so the rule is not applied to them.
 */
export function kernelKind(elf: KernelElf): KernelKind {
  if (elf.loadSegments === 0) return 'not-loadable'
  const guestOs = (elf.guestOs ?? /GUEST_OS=([^,]*)/.exec(elf.xenGuestSection ?? '')?.[1] ?? '').toLowerCase()
  if (guestOs === 'linux') return 'hvm-capable'
  const pvEntry = elf.xenGuestSection !== null || elf.xenNotes.includes(XEN_ELFNOTE_ENTRY) || elf.xenNotes.includes(XEN_ELFNOTE_HYPERCALL_PAGE)
  return pvEntry && !elf.xenNotes.includes(XEN_ELFNOTE_PHYS32_ENTRY) ? 'pv-only' : 'hvm-capable'
}
