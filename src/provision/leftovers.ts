import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import { hasCode } from '../xapi/errors.js'
import { IMAGE_KEY } from '../upload/checkpoint.js'
import { VM_KEY } from './partial-vdi.js'

/**
 * A VM is named this from its clone until the run's last step renames it, so a run
 * killed at any point (kill -9, a crash, a reboot) leaves objects the next run can
 * recognise without guessing: nothing else is ever called that.
 */
export const buildingName = (vmName: string): string => `${vmName} [xcp-provision: incomplete]`

/** Set on the VDI at creation and removed by the last step, for the same reason. */
export const INCOMPLETE_KEY = 'xcp-provision:incomplete'

export interface Leftovers {
  vms: { ref: string; uuid: string; power_state: string }[]
  vdis: { ref: string; uuid: string; name_label: string }[]
}

/**
 * What an interrupted earlier run of the same VM name left behind: its unfinished VM
 * and the disks only that VM (or nothing) used. A VDI that still carries an upload
 * checkpoint is not a leftover: the upload resumes into it.
 */
export async function findLeftovers(x: XapiConnection, vmName: string): Promise<Leftovers> {
  const refs = await VM.get_by_name_label(x, buildingName(vmName))
  const vms = await Promise.all(refs.map(async (ref) => ({ ref, rec: await VM.get_record(x, ref) })))
  const theirVbds = new Set(vms.flatMap((v) => v.rec.VBDs))
  const vdis: Leftovers['vdis'] = []
  for (const [ref, v] of Object.entries(await VDI.get_all_records(x))) {
    if (v.other_config[VM_KEY] !== vmName || v.other_config[INCOMPLETE_KEY] !== 'true' || IMAGE_KEY in v.other_config) continue
    if (v.VBDs.every((vbd) => theirVbds.has(vbd))) vdis.push({ ref, uuid: v.uuid, name_label: v.name_label })
  }
  return { vms: vms.map((v) => ({ ref: v.ref, uuid: v.rec.uuid, power_state: v.rec.power_state })), vdis }
}

/** Removes them (halting a VM first); returns a line per object for the user. */
export async function removeLeftovers(x: XapiConnection, found: Leftovers): Promise<string[]> {
  const removed: string[] = []
  const gone = async (p: Promise<unknown>): Promise<void> => {
    try {
      await p
    } catch (e) {
      if (!hasCode(e, 'HANDLE_INVALID')) throw e
    }
  }
  for (const v of found.vms) {
    if (v.power_state !== 'Halted') await gone(VM.hard_shutdown(x, v.ref))
    // VM.destroy takes the VM's VBDs and VIFs with it, never its VDIs.
    await gone(VM.destroy(x, v.ref))
    removed.push(`VM ${v.uuid}`)
  }
  for (const d of found.vdis) {
    await gone(VDI.destroy(x, d.ref))
    removed.push(`VDI ${d.name_label} (${d.uuid})`)
  }
  return removed
}
