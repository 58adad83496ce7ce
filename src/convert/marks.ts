import { z } from 'zod'
import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'
import type { ConvertVm } from './target.js'

/**
 * What a conversion records in the VM's other_config before each change, so that a run
 * killed at any point is finished, or undone, by the next one: the settings it found
 * (written once, never overwritten), the snapshot taken before any write to the disk,
 * and which of its changes are done.
 */
export const KEY = {
  /** JSON of the PV settings before the first change: what --undo restores. */
  previous: 'xcp-provision:convert:previous',
  /** Set on the VM and on the VDI just before VDI.snapshot; the snapshot inherits the VDI's copy, so a killed run's snapshot is found by it. */
  nonce: 'xcp-provision:convert:nonce',
  /** uuid of the snapshot of the boot disk. */
  snapshot: 'xcp-provision:convert:snapshot',
  /** "written" once --install-bootcode wrote the boot blocks: only then does --undo copy the snapshot back. */
  bootcode: 'xcp-provision:convert:bootcode',
  /** "hvm" once the switch is complete, with the time. */
  state: 'xcp-provision:convert:state',
  /** "disk-restored" during --undo, once the snapshot's data is back in the disk. */
  undo: 'xcp-provision:convert:undo',
} as const

export const Previous = z.object({
  domain_type: z.string(),
  HVM_boot_policy: z.string(),
  HVM_boot_params: z.record(z.string(), z.string()),
  PV_bootloader: z.string(),
  PV_bootloader_args: z.string(),
  PV_args: z.string(),
})
export type Previous = z.infer<typeof Previous>

export const previousOf = (rec: ConvertVm): Previous => ({
  domain_type: rec.domain_type,
  HVM_boot_policy: rec.HVM_boot_policy,
  HVM_boot_params: rec.HVM_boot_params,
  PV_bootloader: rec.PV_bootloader,
  PV_bootloader_args: rec.PV_bootloader_args,
  PV_args: rec.PV_args,
})

export function readPrevious(rec: ConvertVm): Previous | null {
  const raw = rec.other_config[KEY.previous]
  if (raw === undefined) return null
  try {
    return Previous.parse(JSON.parse(raw))
  } catch {
    throw new Error(`other_config:${KEY.previous} of VM ${rec.uuid} is not what xcp-provision wrote; restore the VM's settings by hand`)
  }
}

/** remove then add, as xe vm-param-set other-config:k=v does (add_to_other_config refuses an existing key). */
export async function setVmMark(x: XapiConnection, vm: string, key: string, value: string): Promise<void> {
  await VM.remove_from_other_config(x, vm, key)
  await VM.add_to_other_config(x, vm, key, value)
}

export async function setVdiMark(x: XapiConnection, vdi: string, key: string, value: string): Promise<void> {
  await VDI.remove_from_other_config(x, vdi, key)
  await VDI.add_to_other_config(x, vdi, key, value)
}
