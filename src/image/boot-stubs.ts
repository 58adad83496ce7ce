/**
 * Stand-ins for the boot programs of a FreeBSD VM image (pmbr, gptboot, loader.efi,
 * loader), for sample images only. Each is marked as a sample in plain text, halts if
 * ever run (cli; hlt; jmp back), and has just the shape the checks look at: x86 code
 * in the MBR's code area, code at the start of freebsd-boot, a PE32+ x64 EFI application.
 */

const MARK = 'xcp-provision SAMPLE: not a real boot loader; it halts.'
/** cli; hlt; jmp $-1 : stops the CPU if anything ever jumps here. */
const HALT = [0xfa, 0xf4, 0xeb, 0xfd]

/** 440 bytes for the MBR's boot-code area (pmbr's place), ahead of the disk signature. */
export function stubMbrCode(): Buffer {
  const b = Buffer.alloc(440)
  Buffer.from(HALT).copy(b, 0)
  b.write(`pmbr ${MARK}`, 8, 'latin1')
  return b
}

/** Contents of the freebsd-boot partition (gptboot's place); gptboot must stay under 545 KiB. */
export function stubGptboot(): Buffer {
  const b = Buffer.alloc(16 * 1024)
  Buffer.from(HALT).copy(b, 0)
  b.write(`gptboot ${MARK}`, 8, 'latin1')
  return b
}

/** /boot/loader (the BIOS loader gptboot starts): an ELF header and the mark. */
export function stubLoader(): Buffer {
  const b = Buffer.alloc(4096)
  b.write('\x7fELF', 0, 'latin1')
  b.writeUInt8(1, 4) // ELFCLASS32: the BIOS loader is a 32-bit program
  b.writeUInt8(1, 5)
  b.writeUInt8(1, 6)
  b.writeUInt8(9, 7) // ELFOSABI_FREEBSD
  b.write(`loader ${MARK}`, 64, 'latin1')
  return b
}

export const IMAGE_FILE_MACHINE_AMD64 = 0x8664
export const IMAGE_SUBSYSTEM_EFI_APPLICATION = 10
const PE_AT = 0x80

/**
 * BOOTX64.EFI / loader.efi: a PE32+ image for x64 with the EFI application subsystem,
 * no sections (so no firmware could actually run it), and the mark.
 */
export function stubEfiApplication(): Buffer {
  const b = Buffer.alloc(4096)
  b.write('MZ', 0, 'latin1')
  b.writeUInt32LE(PE_AT, 0x3c) // e_lfanew
  b.write(`loader.efi ${MARK}`, 0x40, 'latin1')
  b.write('PE\0\0', PE_AT, 'latin1')
  const coff = PE_AT + 4
  b.writeUInt16LE(IMAGE_FILE_MACHINE_AMD64, coff)
  b.writeUInt16LE(0, coff + 2) // NumberOfSections
  b.writeUInt16LE(240, coff + 16) // SizeOfOptionalHeader (PE32+ with 16 data directories)
  b.writeUInt16LE(0x0022, coff + 18) // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
  const opt = coff + 20
  b.writeUInt16LE(0x20b, opt) // PE32+
  b.writeUInt32LE(0x1000, opt + 32) // SectionAlignment
  b.writeUInt32LE(0x200, opt + 36) // FileAlignment
  b.writeUInt32LE(0x1000, opt + 56) // SizeOfImage
  b.writeUInt32LE(0x200, opt + 60) // SizeOfHeaders
  b.writeUInt16LE(IMAGE_SUBSYSTEM_EFI_APPLICATION, opt + 68)
  b.writeUInt32LE(16, opt + 108) // NumberOfRvaAndSizes
  return b
}
