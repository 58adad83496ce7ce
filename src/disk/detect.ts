import { QCOW2_MAGIC } from './qcow2.js'
import { VMDK_MAGIC } from './vmdk.js'

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
  return { kind: 'plain' }
}
