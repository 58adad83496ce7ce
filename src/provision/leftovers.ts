import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import * as task from '../xapi/task.js'
import { hasCode } from '../xapi/errors.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import { IMAGE_KEY } from '../upload/resume/checkpoint.js'
import { buildingName, INCOMPLETE_KEY, isMarkedFor } from './marks.js'
import { destroyEndedTasks, settleOperations, type SettleOptions } from './settle-operations.js'
import { DRIVE_KEY } from './first-boot.js'
import { markOf } from './marks.js'

export { buildingName, INCOMPLETE_KEY } from './marks.js'

export interface Leftovers {
  vms: { ref: string; uuid: string; power_state: string }[]
  vdis: { ref: string; uuid: string; name_label: string }[]
  /** Tasks an earlier run made for the upload or --verify of this VM's disk (task.ts, import-raw-vdi.ts). */
  tasks: { ref: string; name_label: string; status: string }[]
}

/** Our own tasks carry the VDI they work on at the start of their description. */
const isTaskOf = (t: { name_label: string; name_description: string }, vdis: Set<string>): boolean =>
  t.name_label.startsWith('xcp-provision:') && [...vdis].some((v) => t.name_description === v || t.name_description.startsWith(`${v}: `))

/**
 * What an interrupted earlier run of the same VM name left behind: its unfinished VM
 * and the disks only that VM (or nothing) used. A VDI that still carries an upload
 * checkpoint is not a leftover: the upload resumes into it. `vdiRecords`: every VDI, as
 * the run read them for its other lookups (read here when absent).
 */
export async function findLeftovers(x: XapiConnection, vmName: string, vdiRecords?: Record<string, VdiDetailRecord>): Promise<Leftovers> {
  const refs = await VM.get_by_name_label(x, buildingName(vmName))
  const vms = await Promise.all(refs.map(async (ref) => ({ ref, rec: await VM.get_record(x, ref) })))
  const theirVbds = new Set(vms.flatMap((v) => v.rec.VBDs))
  const vdis: Leftovers['vdis'] = []
  // Unfinished disks of this VM name, resumable ones included: their tasks are leftovers either way.
  const unfinished = new Set<string>()
  for (const [ref, v] of Object.entries(vdiRecords ?? (await VDI.get_all_records(x)))) {
    // An unfinished config drive of this VM name (first-boot-steps.ts) goes with its unfinished VM.
    if (v.other_config[DRIVE_KEY] === markOf(vmName) && v.other_config[INCOMPLETE_KEY] === 'true') {
      // Its upload's task too: a run killed during the drive's upload leaves it pending.
      unfinished.add(ref)
      if (v.VBDs.every((vbd) => theirVbds.has(vbd))) vdis.push({ ref, uuid: v.uuid, name_label: v.name_label })
      continue
    }
    if (!isMarkedFor(v.other_config, vmName)) continue
    if (v.other_config[INCOMPLETE_KEY] !== 'true') {
      // Unmarked, it was finished (vm.finish takes the mark off just before the rename): a
      // leftover only while attached to an unfinished VM and nothing else. Attached to no VM,
      // it is a finished VM's disk whose VM was destroyed by hand: never ours to remove.
      if (v.VBDs.length && v.VBDs.every((vbd) => theirVbds.has(vbd))) vdis.push({ ref, uuid: v.uuid, name_label: v.name_label })
      continue
    }
    unfinished.add(ref)
    if (IMAGE_KEY in v.other_config) continue
    if (v.VBDs.every((vbd) => theirVbds.has(vbd))) vdis.push({ ref, uuid: v.uuid, name_label: v.name_label })
  }
  // Read only when there is such a disk: a normal run makes no extra call.
  const tasks = unfinished.size ? await findTasksOf(x, unfinished) : []
  return { vms: vms.map((v) => ({ ref: v.ref, uuid: v.rec.uuid, power_state: v.rec.power_state })), vdis, tasks }
}

/**
 * Removes them (halting a VM first); returns a line per object for the user. First every
 * one of them must be idle: an operation the interrupted run left running (a VM.start
 * its client never saw end) is cancelled and waited for, up to `settle.timeoutMs`; a
 * timeout stops the run before anything is removed.
 */
export async function removeLeftovers(x: XapiConnection, found: Leftovers, settle: SettleOptions = {}): Promise<string[]> {
  const removed: string[] = []
  // An object already gone is as good as removed: undefined instead of HANDLE_INVALID.
  const gone = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p
    } catch (e) {
      if (!hasCode(e, 'HANDLE_INVALID')) throw e
      return undefined
    }
  }
  const ended = []
  for (const v of found.vms) ended.push(...(await settleOperations(x, 'VM', v.ref, `VM ${v.uuid}`, settle)))
  for (const d of found.vdis) ended.push(...(await settleOperations(x, 'VDI', d.ref, `VDI ${d.uuid}`, settle)))
  for (const v of found.vms) {
    // Read again: the operation just waited for may have changed it (a start that completed).
    const power = ended.length ? await gone(VM.get_record(x, v.ref)).then((r) => r?.power_state) : v.power_state
    if (power && power !== 'Halted') await gone(VM.hard_shutdown(x, v.ref))
    // VM.destroy takes the VM's VBDs and VIFs with it, never its VDIs.
    await gone(VM.destroy(x, v.ref))
    removed.push(`VM ${v.uuid}`)
  }
  for (const d of found.vdis) {
    await gone(VDI.destroy(x, d.ref))
    removed.push(`VDI ${d.name_label} (${d.uuid})`)
  }
  removed.push(...(await destroyEndedTasks(x, ended)))
  removed.push(...(await removeTasks(x, found.tasks)))
  return removed
}

/** Our upload and verify tasks for these VDIs, left by a run that was killed. */
export async function findTasksOf(x: XapiConnection, vdis: Set<string>): Promise<Leftovers['tasks']> {
  return Object.entries(await task.get_all_records(x))
    .filter(([, t]) => isTaskOf(t, vdis))
    .map(([ref, t]) => ({ ref, name_label: t.name_label, status: t.status }))
}

export async function removeTasks(x: XapiConnection, tasks: Leftovers['tasks']): Promise<string[]> {
  const removed: string[] = []
  for (const t of tasks) {
    // A task made with task.create stays pending until its owner ends it, and XAPI only
    // destroys a pending task once it completes (xapi_task.ml): end it first.
    try {
      if (t.status === 'pending') await task.set_status(x, t.ref, 'cancelled')
      await task.destroy(x, t.ref)
    } catch (e) {
      if (!hasCode(e, 'HANDLE_INVALID')) throw e
    }
    removed.push(`task "${t.name_label}"`)
  }
  return removed
}
