import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import * as VBD from '../xapi/vbd.js'
import { hasCode } from '../xapi/errors.js'
import type { RunState } from './steps.js'

export interface RollbackReport {
  removed: string[]
  /** Objects that could not be removed, with the reason: the user must clean these up. */
  failed: string[]
}

/** An object already gone is as good as removed: rollback must be safe to repeat. */
async function gone(p: Promise<unknown>): Promise<void> {
  try {
    await p
  } catch (e) {
    if (!hasCode(e, 'HANDLE_INVALID')) throw e
  }
}

/** Destroys what this run created, newest first: VBD, VIF, VM (halted first), VDI. */
export async function rollback(x: XapiConnection, state: RunState): Promise<RollbackReport> {
  const removed: string[] = []
  const failed: string[] = []
  // A VM that was started (a step after VM.start failed, such as --wait) is halted first:
  // XAPI refuses to destroy the VBDs and VIFs of a running VM, and the disks they hold.
  for (const vm of state.created.filter((o) => o.cls === 'VM')) {
    await gone(VM.hard_shutdown(x, vm.ref)).catch((e: unknown) => {
      if (!hasCode(e, 'VM_BAD_POWER_STATE')) failed.push(`VM ${vm.label} (${vm.ref}): ${(e as Error).message}`)
    })
  }
  for (const obj of [...state.created].reverse()) {
    const name = `${obj.cls} ${obj.label} (${obj.ref})`
    try {
      if (obj.cls === 'VBD') await gone(VBD.destroy(x, obj.ref))
      if (obj.cls === 'VIF') await gone(VIF.destroy(x, obj.ref))
      if (obj.cls === 'VDI') await gone(VDI.destroy(x, obj.ref))
      if (obj.cls === 'VM') {
        await gone(VM.hard_shutdown(x, obj.ref)).catch((e: unknown) => {
          if (!hasCode(e, 'VM_BAD_POWER_STATE')) throw e
        })
        await gone(VM.destroy(x, obj.ref))
      }
      removed.push(name)
    } catch (e) {
      failed.push(`${name}: ${(e as Error).message}`)
    }
  }
  return { removed, failed }
}
