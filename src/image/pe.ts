/**
 * Just enough of the PE/COFF format to say whether a file is an EFI application for a
 * given CPU, which is what UEFI firmware checks before it runs \EFI\BOOT\BOOTX64.EFI.
 */
export interface PeInfo {
  machine: number
  /** 10 EFI application, 11 boot service driver, 12 runtime driver. */
  subsystem: number
  pe32plus: boolean
}

export type PeResult = { ok: true; info: PeInfo } | { ok: false; reason: string }

export function parsePe(b: Buffer): PeResult {
  if (b.length < 64 || b.toString('latin1', 0, 2) !== 'MZ') return { ok: false, reason: 'no "MZ" header: not a PE/COFF executable' }
  const pe = b.readUInt32LE(0x3c)
  if (pe + 24 + 70 > b.length) return { ok: false, reason: `the PE header offset ${pe} lies past the end of the file` }
  if (b.toString('latin1', pe, pe + 4) !== 'PE\0\0') return { ok: false, reason: 'no "PE" signature where the MZ header points' }
  const machine = b.readUInt16LE(pe + 4)
  const opt = pe + 24
  const magic = b.readUInt16LE(opt)
  if (magic !== 0x10b && magic !== 0x20b) return { ok: false, reason: `unknown optional header magic 0x${magic.toString(16)}` }
  return { ok: true, info: { machine, subsystem: b.readUInt16LE(opt + 68), pe32plus: magic === 0x20b } }
}

const MACHINES: Record<number, string> = { 0x8664: 'x64', 0x14c: 'i386 (IA32)', 0xaa64: 'ARM64', 0x1c2: 'ARM Thumb', 0x5064: 'RISC-V 64' }

export function machineName(m: number): string {
  return MACHINES[m] ?? `machine 0x${m.toString(16)}`
}
