import { check, ImageFormatError } from './errors.js'

/**
 * The BIOS Parameter Block of a FAT volume and the numbers derived from it, as the
 * Microsoft FAT specification (fatgen103, "FAT Type Determination") defines them:
 * the FAT type follows from the count of data clusters alone, never from the
 * BS_FilSysType string, which is informational.
 */
export type FatType = 12 | 16 | 32

export interface FatGeometry {
  type: FatType
  bytesPerSector: number
  sectorsPerCluster: number
  bytesPerCluster: number
  reservedSectors: number
  numFats: number
  /** Sectors per FAT. */
  fatSectors: number
  /** FAT12/16: entries of the fixed root directory; 0 on FAT32. */
  rootEntries: number
  rootDirSectors: number
  totalSectors: number
  firstDataSector: number
  /** Data clusters: valid cluster numbers are 2 .. clusterCount + 1. */
  clusterCount: number
  /** FAT32: first cluster of the root directory; 0 on FAT12/16. */
  rootCluster: number
  media: number
  volumeId: number | null
  volumeLabel: string | null
}

/** Below these cluster counts a volume is FAT12, then FAT16 (the spec's exact boundaries). */
export const FAT12_MAX_CLUSTERS = 4084
export const FAT16_MAX_CLUSTERS = 65524

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0

/** Parses and checks sector 0 of a FAT volume; throws ImageFormatError when it is not one. */
export function parseFatBootSector(b: Buffer, volumeSize: number): FatGeometry {
  check(b.length >= 512, 'FAT boot sector needs 512 bytes')
  check(b.readUInt16LE(510) === 0xaa55, 'no 0x55AA signature at the end of the FAT boot sector')
  // The spec's BS_jmpBoot: EB ?? 90 or E9 ?? ??; fsck.fat and FreeBSD's msdosfs check it too.
  check((b[0] === 0xeb && b[2] === 0x90) || b[0] === 0xe9, `FAT boot sector starts with 0x${(b[0] ?? 0).toString(16)}, not a jump instruction`)
  const bytesPerSector = b.readUInt16LE(11)
  const sectorsPerCluster = b.readUInt8(13)
  const reservedSectors = b.readUInt16LE(14)
  const numFats = b.readUInt8(16)
  const rootEntries = b.readUInt16LE(17)
  const total16 = b.readUInt16LE(19)
  const media = b.readUInt8(21)
  const fat16Size = b.readUInt16LE(22)
  const total32 = b.readUInt32LE(32)
  check([512, 1024, 2048, 4096].includes(bytesPerSector), `BPB_BytsPerSec ${bytesPerSector} is not 512, 1024, 2048 or 4096`)
  check(isPow2(sectorsPerCluster) && sectorsPerCluster <= 128, `BPB_SecPerClus ${sectorsPerCluster} is not a power of 2 up to 128`)
  check(reservedSectors >= 1, 'BPB_RsvdSecCnt is 0')
  check(numFats >= 1 && numFats <= 4, `BPB_NumFATs ${numFats} is not 1..4`)
  check(media === 0xf0 || media >= 0xf8, `BPB_Media 0x${media.toString(16)} is not a valid media byte`)
  const fatSectors = fat16Size !== 0 ? fat16Size : b.readUInt32LE(36)
  const totalSectors = total16 !== 0 ? total16 : total32
  check(fatSectors > 0, 'BPB_FATSz16 and BPB_FATSz32 are both 0')
  check(totalSectors > 0, 'BPB_TotSec16 and BPB_TotSec32 are both 0')
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector)
  const firstDataSector = reservedSectors + numFats * fatSectors + rootDirSectors
  check(firstDataSector < totalSectors, `the FATs and root directory (${firstDataSector} sectors) fill the whole ${totalSectors}-sector volume`)
  check(totalSectors * bytesPerSector <= volumeSize, `the FAT volume claims ${totalSectors * bytesPerSector} bytes but its partition has ${volumeSize}`)
  const clusterCount = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster)
  const type: FatType = clusterCount <= FAT12_MAX_CLUSTERS ? 12 : clusterCount <= FAT16_MAX_CLUSTERS ? 16 : 32
  // The FAT must hold an entry for every cluster (plus the two reserved ones).
  const needBytes = Math.ceil(((clusterCount + 2) * (type === 12 ? 3 : type === 16 ? 4 : 8)) / 2)
  check(fatSectors * bytesPerSector >= needBytes, `a FAT of ${fatSectors} sectors cannot map ${clusterCount} clusters`)
  let rootCluster = 0
  const ext = type === 32 ? 64 : 36
  if (type === 32) {
    check(rootEntries === 0 && fat16Size === 0, 'a FAT32 volume has BPB_RootEntCnt or BPB_FATSz16 set')
    rootCluster = b.readUInt32LE(44)
    check(rootCluster >= 2 && rootCluster <= clusterCount + 1, `BPB_RootClus ${rootCluster} is outside the volume`)
  } else {
    check(rootEntries > 0, 'a FAT12/16 volume has no root directory entries (BPB_RootEntCnt 0)')
  }
  const extended = b.readUInt8(ext + 2) === 0x29
  return {
    type,
    bytesPerSector,
    sectorsPerCluster,
    bytesPerCluster: bytesPerSector * sectorsPerCluster,
    reservedSectors,
    numFats,
    fatSectors,
    rootEntries,
    rootDirSectors,
    totalSectors,
    firstDataSector,
    clusterCount,
    rootCluster,
    media,
    volumeId: extended ? b.readUInt32LE(ext + 3) : null,
    volumeLabel: extended ? b.toString('latin1', ext + 7, ext + 18).trimEnd() : null,
  }
}

/** Cheap probe: does this partition start with something that parses as a FAT boot sector? */
export function looksLikeFat(b: Buffer, volumeSize: number): boolean {
  try {
    parseFatBootSector(b, volumeSize)
    return true
  } catch (e) {
    if (e instanceof ImageFormatError) return false
    throw e
  }
}
