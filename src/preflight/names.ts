import { GPT_TYPE_EFI_SYSTEM, GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_SWAP, GPT_TYPE_FREEBSD_UFS } from '../image/gpt.js'

/** Names as fdisk and gpart print them, so a report reads like the tools a user knows. */
const MBR_TYPES: Record<number, string> = {
  0x01: 'FAT12',
  0x06: 'FAT16',
  0x07: 'NTFS/exFAT',
  0x0b: 'FAT32',
  0x0c: 'FAT32 LBA',
  0x0e: 'FAT16 LBA',
  0x82: 'Linux swap / Solaris',
  0x83: 'Linux',
  0x8e: 'Linux LVM',
  0xa5: 'FreeBSD',
  0xa6: 'OpenBSD',
  0xa9: 'NetBSD',
  0xbf: 'Solaris',
  0xee: 'GPT protective',
  0xef: 'EFI system',
}

export function mbrTypeName(type: number): string {
  return MBR_TYPES[type] ?? 'unknown'
}

const GPT_TYPES: Record<string, string> = {
  [GPT_TYPE_FREEBSD_BOOT]: 'freebsd-boot',
  [GPT_TYPE_FREEBSD_UFS]: 'freebsd-ufs',
  [GPT_TYPE_FREEBSD_SWAP]: 'freebsd-swap',
  [GPT_TYPE_EFI_SYSTEM]: 'efi',
  '516E7CBA-6ECF-11D6-8FF8-00022D09712B': 'freebsd-zfs',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'linux-data',
}

export function gptTypeName(guid: string): string {
  return GPT_TYPES[guid] ?? 'unknown'
}

/** fstypenames[] of FreeBSD's sys/disklabel.h, the entries a FreeBSD label actually uses. */
const FSTYPES: Record<number, string> = { 0: 'unused', 1: 'swap', 7: '4.2BSD', 8: 'MSDOS', 13: 'boot', 14: 'vinum', 15: 'raid', 27: 'ZFS' }

export function fstypeName(fstype: number): string {
  return FSTYPES[fstype] ?? `type ${fstype}`
}
