import { createHash } from 'node:crypto'
import { stubEfiApplication, stubGptboot, stubLoader, stubMbrCode } from './boot-stubs.js'
import { normalizeExtents, shiftExtents, type Extent } from './extents.js'
import { fakeKernel } from './fake-kernel.js'
import { buildFat } from './fat-writer.js'
import { buildGpt, type GptPartitionInput } from './gpt-build.js'
import { GPT_TYPE_EFI_SYSTEM, GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_SWAP, GPT_TYPE_FREEBSD_UFS } from './gpt.js'
import { SECTOR_SIZE } from './mbr.js'
import { SAMPLE_KERNEL_PATH } from './sample-image.js'
import { buildUfs2 } from './ufs1-writer.js'

export type SampleFirmware = 'bios' | 'uefi' | 'both'

export interface SampleHvmOptions {
  /** Which boot path the disk carries; FreeBSD's own amd64 VM images carry both. Default 'uefi'. */
  firmware?: SampleFirmware
  /** Bytes, default 128 MiB (the ESP alone is 33 MiB, as in FreeBSD 14's images). */
  diskSize?: number
  kernelSize?: number
  seed?: number
}

export interface SampleHvmLayout {
  diskSize: number
  firmware: SampleFirmware
  /** Byte offsets of the partitions present. */
  bootOffset: number | null
  espOffset: number | null
  rootOffset: number
  kernelPath: string
  kernelSha256: string
  kernelSize: number
}

const MiB = 1024 * 1024
const DEFAULT_DISK = 128 * MiB
const DEFAULT_KERNEL = 3 * MiB + 4321
/** FreeBSD 14's make_esp_file: 33292 KiB, FAT32 with one sector per cluster. */
const ESP_BYTES = 33292 * 1024
const BOOT_SECTORS = 1024 // 512 KiB, under gptboot's 545 KiB limit
const SWAP_BYTES = 8 * MiB
const FIRST_LBA = 40 // mkimg's first partition, 4 KiB aligned

/** As FreeBSD's release/tools/vmimage.subr writes it: partitions by GPT label. */
export const SAMPLE_HVM_FSTAB = ['# Device\tMountpoint\tFStype\tOptions\tDump\tPass#', '/dev/gpt/rootfs\t/\t\tufs\trw\t1\t1', '/dev/gpt/swapfs\tnone\t\tswap\tsw\t0\t0', ''].join('\n')

/** FreeBSD 14's ttys lines for the VGA console, the first serial port and Xen's console. */
export const SAMPLE_HVM_TTYS = [
  'console\tnone\t\t\t\tunknown\toff\tsecure',
  'ttyv0\t"/usr/libexec/getty Pc"\t\txterm\tonifexists\tsecure',
  'ttyu0\t"/usr/libexec/getty 3wire"\tvt100\tonifconsole\tsecure',
  'xc0\t"/usr/libexec/getty Pc"\t\txterm\tonifconsole\tsecure',
  '',
].join('\n')

/** The guest tools XCP-ng's docs install on FreeBSD (pkg install xe-guest-utilities), enabled. */
export const SAMPLE_HVM_RC_CONF = 'hostname="freebsd"\nxenguest_enable="YES"\n# xcp-provision SAMPLE image\n'

/**
 * A FreeBSD 14 VM image in the layout of the official ones (GPT; freebsd-boot "bootfs"
 * with gptboot and pmbr in the protective MBR for BIOS; an efi "efiboot0" ESP holding
 * \EFI\BOOT\BOOTX64.EFI for UEFI; freebsd-swap "swapfs"; freebsd-ufs "rootfs" in UFS2),
 * with stub boot programs marked as samples. `firmware` leaves out the boot path the
 * other firmware would use, so each firmware's emulation can be tested alone.
 */
export function buildSampleHvmImage(opts: SampleHvmOptions = {}): { layout: SampleHvmLayout; extents: Extent[] } {
  const firmware = opts.firmware ?? 'uefi'
  const diskSize = opts.diskSize ?? DEFAULT_DISK
  const seed = opts.seed ?? 1
  if (!Number.isSafeInteger(diskSize) || diskSize % SECTOR_SIZE !== 0 || diskSize < 64 * MiB) {
    throw new RangeError(`disk size ${diskSize} must be a multiple of ${SECTOR_SIZE} and at least 64 MiB`)
  }
  const bios = firmware !== 'uefi'
  const uefi = firmware !== 'bios'
  const parts: GptPartitionInput[] = []
  const extents: Extent[] = []
  let lba = FIRST_LBA
  const add = (typeGuid: string, name: string, sectors: number): number => {
    const start = lba
    parts.push({ typeGuid, uniqueGuid: guid(seed, parts.length), startLba: start, endLba: start + sectors - 1, name })
    lba = Math.ceil((start + sectors) / 8) * 8
    return start * SECTOR_SIZE
  }
  let bootOffset: number | null = null
  let espOffset: number | null = null
  if (bios) {
    bootOffset = add(GPT_TYPE_FREEBSD_BOOT, 'bootfs', BOOT_SECTORS)
    extents.push({ offset: bootOffset, data: stubGptboot() })
  }
  if (uefi) {
    espOffset = add(GPT_TYPE_EFI_SYSTEM, 'efiboot0', ESP_BYTES / SECTOR_SIZE)
    const esp = buildFat({ size: ESP_BYTES, type: 32, sectorsPerCluster: 1, label: 'EFISYS', volumeId: 0x5eed0000 + seed, files: { '/EFI/BOOT/BOOTX64.EFI': stubEfiApplication() } })
    extents.push(...shiftExtents(esp, espOffset))
  }
  add(GPT_TYPE_FREEBSD_SWAP, 'swapfs', SWAP_BYTES / SECTOR_SIZE)
  const lastUsable = diskSize / SECTOR_SIZE - 34
  const rootSectors = Math.floor((lastUsable - lba) / 8) * 8
  const rootOffset = add(GPT_TYPE_FREEBSD_UFS, 'rootfs', rootSectors)
  const kernel = fakeKernel(opts.kernelSize ?? DEFAULT_KERNEL, seed)
  const root = buildUfs2({
    size: rootSectors * SECTOR_SIZE,
    bsize: 32768,
    fsize: 4096,
    seed,
    volname: 'rootfs',
    files: {
      '/boot/loader': { type: 'file', data: stubLoader(), mode: 0o555 },
      '/boot/loader.efi': { type: 'file', data: stubEfiApplication(), mode: 0o555 },
      [SAMPLE_KERNEL_PATH]: { type: 'file', data: kernel, mode: 0o555 },
      '/etc/fstab': Buffer.from(SAMPLE_HVM_FSTAB),
      '/etc/ttys': Buffer.from(SAMPLE_HVM_TTYS),
      '/etc/rc.conf': Buffer.from(SAMPLE_HVM_RC_CONF),
      '/usr/local/etc/rc.d/xenguest': { type: 'file', data: Buffer.from('#!/bin/sh\n# xcp-provision SAMPLE stand-in for xe-guest-utilities\n'), mode: 0o555 },
      '/usr/local/sbin/xe-daemon': { type: 'file', data: Buffer.from('#!/bin/sh\n# xcp-provision SAMPLE stand-in\n'), mode: 0o555 },
    },
  })
  extents.push(...shiftExtents(root.extents, rootOffset))
  const gpt = buildGpt(diskSize, guid(seed, 99), parts)
  // pmbr's code goes in the protective MBR's code area; buildGpt leaves it zero.
  if (bios) {
    const pmbr = gpt[0]
    if (pmbr !== undefined) stubMbrCode().copy(pmbr.data, 0)
  }
  return {
    layout: {
      diskSize,
      firmware,
      bootOffset,
      espOffset,
      rootOffset,
      kernelPath: SAMPLE_KERNEL_PATH,
      kernelSha256: createHash('sha256').update(kernel).digest('hex'),
      kernelSize: kernel.length,
    },
    extents: normalizeExtents([...gpt, ...extents], diskSize),
  }
}

/** Deterministic GUIDs (version-4 shaped) so the same seed gives the same bytes. */
function guid(seed: number, n: number): string {
  const h = createHash('sha256').update(`sample-hvm-${seed}-${n}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase()
}
