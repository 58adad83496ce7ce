import { z } from 'zod'
import { FirmwareVerdict } from '../preflight/hvm-report.js'

/**
 * `provision convert --json`: per item, what stands between this PV guest and an HVM
 * boot, and who fixes it: this command (`convert` for the VM settings,
 * `install-bootcode` for boot blocks copied from the guest's own /boot) or the
 * operator inside the guest (`guest`), since nothing here edits the guest's files.
 */
export const ItemStatus = z.enum(['ok', 'blocks', 'warn'])
export type ItemStatus = z.infer<typeof ItemStatus>
export const FixedBy = z.enum(['convert', 'install-bootcode', 'guest', 'nothing'])
export type FixedBy = z.infer<typeof FixedBy>

export const ConvertItem = z.object({
  id: z.string(),
  status: ItemStatus,
  message: z.string(),
  fix: z.string(),
  fixed_by: FixedBy,
})
export type ConvertItem = z.infer<typeof ConvertItem>

/** One range of the disk --install-bootcode writes, and which file of the guest it comes from. */
export const BootPatch = z.object({
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  source: z.string(),
  what: z.string(),
})
export type BootPatch = z.infer<typeof BootPatch>

export const ConvertReport = z.object({
  vm: z.object({ name_label: z.string(), uuid: z.string(), domain_type: z.string(), power_state: z.string() }),
  vdi: z.object({ uuid: z.string(), virtual_size: z.number() }),
  items: z.array(ConvertItem),
  /** Bytes --install-bootcode would write; empty when nothing is missing or no boot file is there. */
  bootcode: z.array(BootPatch),
  /** What the BIOS of an HVM guest would do with the disk now, and after --install-bootcode. */
  bios_now: FirmwareVerdict,
  bios_after_bootcode: FirmwareVerdict,
  /** True when nothing left blocks an HVM boot but what this command fixes. */
  convertible: z.boolean(),
  read: z.object({ bytes: z.number(), passes: z.number() }),
})
export type ConvertReport = z.infer<typeof ConvertReport>
