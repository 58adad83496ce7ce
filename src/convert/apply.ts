import { randomUUID } from 'node:crypto'
import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import type { Patch } from './boot-blocks.js'
import { writePatches } from './bootcode-write.js'
import { removeLeftoverTasks } from './leftover-tasks.js'
import { KEY, previousOf, readPrevious, setVdiMark, setVmMark } from './marks.js'
import { switchToHvm } from './switch.js'
import { getVdi, getVm, vdiByUuid, type Target } from './target.js'

export interface Applied {
  snapshot: string
  /** Bytes of the PUT body (framing included); 0 when no boot block was written. */
  bootcode_bytes: number
  steps: string[]
}

/**
 * The conversion, in an order a kill -9 cannot spoil: every change is preceded by a
 * record of it in the VM's other_config and every step checks that record first, so
 * the same command run again goes on from where the killed one stopped.
 *   1. the PV settings, once; 2. the snapshot of the boot disk (found again by a nonce
 *   it inherits from the disk); 3. the boot blocks; 4. the switch; 5. state=hvm.
 */
export async function applyConversion(x: XapiConnection, t: Target, patches: readonly Patch[], signal?: AbortSignal): Promise<Applied> {
  const steps: string[] = []
  if (readPrevious(t.rec) === null) {
    await setVmMark(x, t.vm, KEY.previous, JSON.stringify(previousOf(t.rec)))
    steps.push('recorded the PV settings in other_config')
  }
  const snapshot = await ensureSnapshot(x, t, steps)
  const leftovers = await removeLeftoverTasks(x, t.vdi)
  if (leftovers > 0) steps.push(`removed ${leftovers} upload task(s) an interrupted run left`)
  if (patches.length > 0) {
    // Marked before the PUT: a write cut by a kill may have changed sectors, and --undo must then copy the snapshot back.
    await setVmMark(x, t.vm, KEY.bootcode, 'written')
    const bytes = await writePatches(
      x,
      t.vdi,
      [...patches].sort((a, b) => a.offset - b.offset),
      signal,
    )
    steps.push(`wrote ${patches.map((p) => `${p.source} (${p.what})`).join(', ')}`)
    await switchAndMark(x, t.vm, steps)
    return { snapshot, bootcode_bytes: bytes, steps }
  }
  await switchAndMark(x, t.vm, steps)
  return { snapshot, bootcode_bytes: 0, steps }
}

async function switchAndMark(x: XapiConnection, vm: string, steps: string[]): Promise<void> {
  await switchToHvm(x, vm)
  await setVmMark(x, vm, KEY.state, `hvm ${new Date().toISOString()}`)
  steps.push('switched to HVM (BIOS, disk first); PV-bootloader and its arguments cleared')
}

async function ensureSnapshot(x: XapiConnection, t: Target, steps: string[]): Promise<string> {
  const rec = await getVm(x, t.vm)
  const known = rec.other_config[KEY.snapshot]
  if (known !== undefined && (await vdiByUuid(x, known)) !== null) return known
  let nonce = rec.other_config[KEY.nonce]
  const disk = await getVdi(x, t.vdi)
  if (nonce !== undefined) {
    // A killed run may have taken the snapshot without recording it: it carries the nonce.
    for (const s of disk.snapshots) {
      const snap = await getVdi(x, s)
      if (snap.other_config[KEY.nonce] === nonce) return record(x, t, snap.uuid, steps, 'found the snapshot an interrupted run took')
    }
  } else {
    nonce = randomUUID()
    await setVmMark(x, t.vm, KEY.nonce, nonce)
  }
  if (disk.other_config[KEY.nonce] !== nonce) await setVdiMark(x, t.vdi, KEY.nonce, nonce)
  const ref = await VDI.snapshot(x, t.vdi)
  const snap = await getVdi(x, ref)
  await VDI.set_name_label(x, ref, `${disk.name_label} (before xcp-provision convert)`)
  return record(x, t, snap.uuid, steps, 'took a snapshot of the boot disk')
}

async function record(x: XapiConnection, t: Target, uuid: string, steps: string[], what: string): Promise<string> {
  await setVmMark(x, t.vm, KEY.snapshot, uuid)
  // The disk's own copy of the nonce has done its job; the snapshot keeps its copy.
  await VDI.remove_from_other_config(x, t.vdi, KEY.nonce)
  steps.push(`${what} (VDI ${uuid})`)
  return uuid
}
