import { ImageFormatError } from '../image/errors.js'
import { parseFatBootSector } from '../image/fat-boot.js'
import type { ReadAt } from '../image/read-at.js'
import { FS_MAGIC_OFFSET, SBLOCK_SEARCH, UFS1_MAGIC, UFS2_MAGIC } from '../image/ufs-superblock.js'
import type { FsKind } from './hvm-report.js'

/** ZFS uberblock magic ("oo-ba-bloc"); uberblocks start 128 KiB into each 256 KiB vdev label. */
const UB_MAGIC = 0x00bab10cn
const ZFS_UBERBLOCKS_AT = 128 * 1024

/**
 * Names the file system of a partition from its magic numbers, the way blkid or
 * FreeBSD's fstyp would: enough to say "a ZFS root" or "a Linux ext4 root" even
 * where the preflight does not read that file system.
 */
export function identifyFs(read: ReadAt, size: number): FsKind {
  if (size < 4096) return 'none'
  for (const loc of SBLOCK_SEARCH) {
    if (loc + 8192 > size) continue
    const magic = read(loc + FS_MAGIC_OFFSET, 4).readUInt32LE(0)
    if (magic === UFS2_MAGIC) return 'UFS2'
    if (magic === UFS1_MAGIC && loc <= 8192) return 'UFS1'
  }
  if (read(1024 + 56, 2).readUInt16LE(0) === 0xef53) return 'ext4' // ext2/3/4 share the magic; ext4 is what images use
  if (read(0, 4).toString('latin1') === 'XFSB') return 'XFS'
  if (size > 0x10048 && read(0x10040, 8).toString('latin1') === '_BHRfS_M') return 'btrfs'
  if (size > ZFS_UBERBLOCKS_AT + 8 && isZfsLabel(read)) return 'ZFS'
  if (read(4086, 10).toString('latin1') === 'SWAPSPACE2') return 'swap'
  try {
    return `FAT${parseFatBootSector(read(0, 512), size).type}`
  } catch (e) {
    if (!(e instanceof ImageFormatError)) throw e
  }
  return 'none'
}

/** Any of the first uberblocks of label 0 carries the magic, in either byte order. */
function isZfsLabel(read: ReadAt): boolean {
  const ubs = read(ZFS_UBERBLOCKS_AT, 8 * 1024)
  for (let at = 0; at < ubs.length; at += 1024) {
    if (ubs.readBigUInt64LE(at) === UB_MAGIC || ubs.readBigUInt64BE(at) === UB_MAGIC) return true
  }
  return false
}
