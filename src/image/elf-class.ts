/**
 * The word size of an ELF executable, from its identification bytes (e_ident[EI_CLASS]):
 * what decides whether a PV kernel is a 32-bit guest, which Xen refuses unless built
 * and booted with 32-bit PV support (xen-3.0-x86_32p in its capabilities).
 */
export function elfClass(head: Buffer): 32 | 64 | null {
  if (head.length < 5 || head.toString('latin1', 0, 4) !== '\x7fELF') return null
  const cls = head[4]
  return cls === 1 ? 32 : cls === 2 ? 64 : null
}
