import { pseudoRandomBytes } from './prng.js'

const ELFOSABI_FREEBSD = 9
const EM_X86_64 = 0x3e
const ET_EXEC = 2
/** Where FreeBSD/amd64 kernels link (KERNBASE + 2 MiB + header). */
const ENTRY = 0xffffffff80200000n + 0x120n

/**
 * Deterministic stand-in for /boot/kernel/kernel: an ELF64 FreeBSD/amd64 executable
 * header followed by pseudo-random bytes. No program or section headers are claimed,
 * so nothing will try to interpret the random part.
 */
export function fakeKernel(size: number, seed: number): Buffer {
  if (!Number.isInteger(size) || size < 64) throw new RangeError(`kernel size ${size} is smaller than an ELF header`)
  const k = pseudoRandomBytes(size, seed)
  k.fill(0, 0, 64)
  k.write('\x7fELF', 0, 'latin1')
  k.writeUInt8(2, 4) // ELFCLASS64
  k.writeUInt8(1, 5) // ELFDATA2LSB
  k.writeUInt8(1, 6) // EV_CURRENT
  k.writeUInt8(ELFOSABI_FREEBSD, 7)
  k.writeUInt16LE(ET_EXEC, 16)
  k.writeUInt16LE(EM_X86_64, 18)
  k.writeUInt32LE(1, 20) // e_version
  k.writeBigUInt64LE(ENTRY, 24)
  k.writeUInt16LE(64, 52) // e_ehsize
  k.writeUInt16LE(56, 54) // e_phentsize
  k.writeUInt16LE(64, 58) // e_shentsize
  return k
}
