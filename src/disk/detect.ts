import { QCOW2_MAGIC } from './qcow2.js'
import { VMDK_MAGIC } from './vmdk.js'
import { DiskFormatError } from './virtual-disk.js'

export type Compression = 'xz' | 'gzip'

export type Detected =
  | { kind: 'compressed'; compression: Compression }
  | { kind: 'container'; format: 'qcow2' | 'vmdk' }
  /** No magic at the start: raw, or a VHD (whose footer is at the end: checked by the caller). */
  | { kind: 'plain' }
  | { kind: 'refused'; why: string; fix: string }

const XZ = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
const GZIP = Buffer.from([0x1f, 0x8b, 0x08])
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])
const BZIP2 = Buffer.from('BZh')
const VDI = 0xbeda107f
const ZIP = Buffer.from('PK\x03\x04', 'latin1')

/**
 * What a file holds, from its first bytes, never its name: FreeBSD's `.img` may be any
 * of these, and a renamed file must still be read right.
 */
export function detect(head: Buffer): Detected {
  const at = (magic: Buffer, offset = 0): boolean => head.length >= offset + magic.length && head.subarray(offset, offset + magic.length).equals(magic)
  if (at(XZ)) return { kind: 'compressed', compression: 'xz' }
  if (at(GZIP)) return { kind: 'compressed', compression: 'gzip' }
  if (at(QCOW2_MAGIC)) return { kind: 'container', format: 'qcow2' }
  if (at(VMDK_MAGIC)) return { kind: 'container', format: 'vmdk' }
  if (at(ZSTD)) return { kind: 'refused', why: 'the file is zstd-compressed, which is not read here', fix: 'decompress it first (zstd -d), or recompress it with xz' }
  if (at(BZIP2) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39)
    return { kind: 'refused', why: 'the file is bzip2-compressed, which is not read here', fix: 'decompress it first (bunzip2), or recompress it with xz' }
  if (head.toString('latin1', 0, 21) === '# Disk DescriptorFile')
    return {
      kind: 'refused',
      why: 'this is a VMDK descriptor; the data is in the extent files it names',
      fix: 'pass the extent file (for monolithicFlat, the -flat.vmdk file is raw), or convert: qemu-img convert -O raw <descriptor> disk.raw',
    }
  if (head.length >= 68 && head.readUInt32LE(64) === VDI) return { kind: 'refused', why: 'this is a VirtualBox VDI image', fix: 'convert it: qemu-img convert -O qcow2 <file> disk.qcow2' }
  // Archives that hold a disk, as some clouds publish them: read as raw, their headers would become the VM's first sectors.
  if (at(ZIP)) return { kind: 'refused', why: 'this is a zip archive (Azure publishes its VHDs as .vhd.zip), not a disk image', fix: 'unzip it and pass the disk image inside' }
  const member = tarMember(head)
  if (member)
    return {
      kind: 'refused',
      why: `this is a tar archive${member.name === undefined ? '' : ` (first member ${member.name}${Number.isFinite(member.size) ? `, ${member.size} bytes` : ''})`}, not a disk image: Debian's cloud .tar.xz holds disk.raw, an OVA an .ovf and a VMDK`,
      fix: "extract it (tar -xf <file>) and pass the disk image inside (disk.raw, or the OVA's .vmdk)",
    }
  return { kind: 'plain' }
}

/**
 * The first member of a tar archive (POSIX ustar or GNU), if the first 512 bytes are a
 * tar header: "ustar" at 257 and a header checksum that adds up, so boot code that
 * happens to hold those five letters is not taken for one.
 */
function tarMember(head: Buffer): { name: string | undefined; size: number } | undefined {
  if (head.length < 512 || head.toString('latin1', 257, 262) !== 'ustar') return undefined
  const octal = (from: number, to: number): number =>
    Number.parseInt(
      head
        .toString('latin1', from, to)
        .replace(/[\0 ]+$/, '')
        .trim() || 'x',
      8,
    )
  let sum = 0
  // The checksum field counts as eight spaces.
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!
  if (octal(148, 156) !== sum) return undefined
  // A pax or GNU long-name header comes first: the member's real name is in its data, not here.
  if ('xgLK'.includes(head.toString('latin1', 156, 157))) return { name: undefined, size: Number.NaN }
  const text = (from: number, to: number): string => {
    const end = head.indexOf(0, from)
    return head.toString('latin1', from, end < 0 || end > to ? to : end)
  }
  // POSIX ustar ("ustar\0") has a name prefix at 345; GNU's ("ustar  ") keeps times there.
  const prefix = head[262] === 0 ? text(345, 500) : ''
  // Printed in an error: only printable characters of the name.
  const name = `${prefix ? `${prefix}/` : ''}${text(0, 100)}`.replace(/[^\x20-\x7e]/g, '?')
  // GNU writes sizes of 8 GiB and more in base 256 (high bit of the first byte set): left out of the message.
  const size = head[124]! & 0x80 ? Number.NaN : octal(124, 136)
  return { name: name || undefined, size }
}

/** A compressed image whose content is refused: the error names the image the user gave, not its spool in $TMPDIR. */
export function refusedInside(path: string, d: { why: string; fix: string }): DiskFormatError {
  return new DiskFormatError(path, 0, `once decompressed, ${d.why}`, d.fix)
}
