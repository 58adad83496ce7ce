import { z } from 'zod'
import { Finding, PartitionTable } from './report.js'

/**
 * The HVM preflight report: what BIOS and UEFI firmware would find on the disk, and why
 * a guest would or would not boot. The zod schema is the contract of
 * `provision check-image --json` for an HVM recipe (verdicts.bios / verdicts.uefi,
 * as verdicts.upstream / verdicts['xcp-ng'] are for PV).
 */
export const FIRMWARES = ['bios', 'uefi'] as const
export const Firmware = z.enum(FIRMWARES)
export type Firmware = z.infer<typeof Firmware>

const bytes = z.number().int().nonnegative()

/** What a partition holds, from its magic numbers (only UFS and FAT are read further). */
export const FsKind = z.enum(['UFS1', 'UFS2', 'ZFS', 'ext4', 'XFS', 'btrfs', 'FAT12', 'FAT16', 'FAT32', 'swap', 'none'])
export type FsKind = z.infer<typeof FsKind>

export const FileState = z.enum(['present', 'missing', 'not-a-file', 'unreadable', 'unchecked'])
export type FileState = z.infer<typeof FileState>

export const HvmPartition = z.object({ where: z.string(), start: bytes, size: bytes, fs: FsKind })
export type HvmPartition = z.infer<typeof HvmPartition>

export const EspReport = z.object({
  where: z.string(),
  start: bytes,
  size: bytes,
  /** The partition type says "EFI System"; firmware also tries other FAT partitions. */
  typed_esp: z.boolean(),
  fs: FsKind,
  fs_error: z.string().nullable(),
  /** \EFI\BOOT\BOOTX64.EFI, the removable-media path a VM with empty NVRAM boots. */
  loader: FileState,
  loader_size: bytes.nullable(),
  /** e.g. "x64 EFI application", or why the file is not one. */
  loader_kind: z.string().nullable(),
  /** Other .EFI files under \EFI (e.g. \EFI\FreeBSD\loader.efi), for the fix. */
  other_loaders: z.array(z.string()),
})
export type EspReport = z.infer<typeof EspReport>

export const HvmRoot = z.object({
  where: z.string(),
  start: bytes,
  size: bytes,
  fs: FsKind,
  os: z.enum(['freebsd', 'linux', 'unknown']),
  fs_error: z.string().nullable(),
  /** /boot/loader, what gptboot and boot1 start (BIOS); unchecked where the fs is not read. */
  loader: FileState,
  kernel: FileState,
  kernel_path: z.string(),
})
export type HvmRoot = z.infer<typeof HvmRoot>

export const FirmwareVerdict = z.object({
  firmware: Firmware,
  boots: z.boolean(),
  /** The boot chain as far as it goes, e.g. ["MBR boot code", "gptboot in GPT partition 1", "/boot/loader", "/boot/kernel/kernel"]. */
  chain: z.array(z.string()),
  problems: z.array(Finding),
})
export type FirmwareVerdict = z.infer<typeof FirmwareVerdict>

export const HvmPreflightReport = z.object({
  mode: z.literal('hvm'),
  image_size: bytes,
  table: PartitionTable,
  partitions: z.array(HvmPartition),
  esp: EspReport.nullable(),
  root: HvmRoot.nullable(),
  verdicts: z.object({ bios: FirmwareVerdict, uefi: FirmwareVerdict }),
  warnings: z.array(Finding),
  elapsed_ms: z.number().nonnegative(),
})
export type HvmPreflightReport = z.infer<typeof HvmPreflightReport>
