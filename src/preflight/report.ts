import { z } from 'zod'

/**
 * The preflight report: what was found on the disk, what each pygrub flavour would do
 * with it, why, and how to fix it. The zod schema is the contract of
 * `provision check-image --json`; the types below are inferred from it.
 */

export const FLAVOURS = ['upstream', 'xcp-ng'] as const
export const Flavour = z.enum(FLAVOURS)
export type Flavour = z.infer<typeof Flavour>

/** One thing that is wrong (a problem) or likely wrong (a warning), with its cure. */
export const Finding = z.object({
  code: z.string(),
  message: z.string(),
  fix: z.string(),
})
export type Finding = z.infer<typeof Finding>

const bytes = z.number().int().nonnegative()

export const TableEntry = z.object({
  /** 1-based, as FreeBSD names slices (ada0s1) and GPT partitions (ada0p1). */
  index: z.number().int().positive(),
  type: z.string().describe('MBR type byte as 0xNN, or the GPT type GUID'),
  type_name: z.string(),
  active: z.boolean(),
  start: bytes,
  size: bytes,
})
export type TableEntry = z.infer<typeof TableEntry>

export const PartitionTable = z.object({
  kind: z.enum(['mbr', 'gpt', 'none']),
  entries: z.array(TableEntry),
  problems: z.array(z.string()),
})
export type PartitionTable = z.infer<typeof PartitionTable>

export const LabelPartition = z.object({
  letter: z.string(),
  fstype: z.string(),
  /** p_offset - c.p_offset, in sectors: FreeBSD's own reading; null where FreeBSD skips the entry. */
  start_in_slice: z.number().int().nullable(),
  /** Absolute byte offset on the disk, the value pygrub's --offset wants. */
  start: bytes.nullable(),
  size: bytes,
})

export const BsdLabel = z.object({
  /** The MBR slice holding the label, 0 for a label at the start of a bare disk. */
  slice: z.number().int().nonnegative(),
  at: bytes,
  checksum_valid: z.boolean(),
  /** bsdlabel(8) writes absolute offsets (c starts at the slice LBA); gpart writes relative ones. */
  offsets: z.enum(['absolute', 'relative']),
  problems: z.array(z.string()),
  partitions: z.array(LabelPartition),
})
export type BsdLabel = z.infer<typeof BsdLabel>

export const KernelState = z.enum(['present', 'missing', 'symlink', 'directory', 'not-a-file', 'unreadable'])
export type KernelState = z.infer<typeof KernelState>

/** Where the FreeBSD root file system is (or should be), and what is there. */
export const RootFs = z.object({
  where: z.string(),
  start: bytes,
  size: bytes,
  fs: z.enum(['UFS1', 'UFS2', 'none']),
  /** Byte offset of the superblock inside the partition (UFS1 8192; UFS2 65536, or 8192 from makefs). */
  superblock_at: bytes.nullable(),
  fs_error: z.string().nullable(),
  kernel: KernelState,
  kernel_size: bytes.nullable(),
  /** Every block of the kernel lies inside the image (false: a truncated or damaged copy). */
  kernel_complete: z.boolean().nullable(),
})
export type RootFs = z.infer<typeof RootFs>

export const FlavourVerdict = z.object({
  flavour: Flavour,
  boots: z.boolean(),
  /** What the emulated pygrub ends with: the same verdict the real one gives. */
  pygrub: z.object({
    ok: z.boolean(),
    message: z.string().nullable(),
    offset: bytes.nullable(),
    kernel_bytes: bytes.nullable(),
  }),
  problems: z.array(Finding),
})
export type FlavourVerdict = z.infer<typeof FlavourVerdict>

export const OffsetFix = z.object({
  offset: bytes,
  bootloader_args: z.string(),
  why: z.string(),
})
export type OffsetFix = z.infer<typeof OffsetFix>

export const PreflightReport = z.object({
  image_size: bytes,
  bootloader_args: z.string(),
  pv_args: z.string(),
  kernel_path: z.string(),
  table: PartitionTable,
  labels: z.array(BsdLabel),
  root: RootFs.nullable(),
  verdicts: z.object({ upstream: FlavourVerdict, 'xcp-ng': FlavourVerdict }),
  /** Set when moving pygrub to partition `a` is all it takes: both flavours boot with it. */
  offset_fix: OffsetFix.nullable(),
  warnings: z.array(Finding),
  elapsed_ms: z.number().nonnegative(),
})
export type PreflightReport = z.infer<typeof PreflightReport>

/** Recipe fields the preflight needs: the recipe's `pv` block. */
export interface PvSettings {
  bootloader_args: string
  args: string
}
