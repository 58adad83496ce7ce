import { setTimeout as sleep } from 'node:timers/promises'
import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import * as task from '../xapi/task.js'
import { hasCode } from '../xapi/errors.js'
import { UserError } from '../errors.js'

/** How long a re-run waits for an operation an interrupted run left running; a cancelled VM.start ends in seconds. */
export const OPERATION_WAIT_MS = 5 * 60_000

export interface SettleOptions {
  /** At most this long in all; then the run stops and says which task to look at. */
  timeoutMs?: number
  /** Progress for the user: the wait is announced, then repeated every `reportEveryMs`. */
  onWait?: (message: string) => void
  reportEveryMs?: number
  pollMs?: number
}

type Cls = 'VM' | 'VDI'

const currentOperations = (x: XapiConnection, cls: Cls, ref: string): Promise<Record<string, string>> => (cls === 'VM' ? VM.get_current_operations(x, ref) : VDI.get_current_operations(x, ref))

/** Errors that mean "nothing more to do about this task": it is gone, or it can no longer be cancelled. */
const settledTask = (e: unknown): boolean => hasCode(e, 'HANDLE_INVALID') || hasCode(e, 'OPERATION_NOT_ALLOWED')

/**
 * A killed client does not stop what XAPI runs for it: a VM.start keeps going, and the
 * object stays in that operation (current_operations, keyed by the task behind it), so
 * a VM.destroy meanwhile fails with OTHER_OPERATION_IN_PROGRESS. The object here is an
 * interrupted run's leftover, about to be removed: each operation's task is cancelled
 * (task.cancel), then the wait lasts until the object is idle or `timeoutMs` passes.
 * Returns the tasks it waited for (destroyEndedTasks removes them); an object already
 * gone is idle.
 */
export async function settleOperations(x: XapiConnection, cls: Cls, ref: string, label: string, o: SettleOptions = {}): Promise<EndedTask[]> {
  const timeoutMs = o.timeoutMs ?? OPERATION_WAIT_MS
  const reportEvery = o.reportEveryMs ?? 10_000
  const started = Date.now()
  let lastReport = started
  const asked = new Map<string, string>()
  for (;;) {
    let ops: [string, string][]
    try {
      ops = Object.entries(await currentOperations(x, cls, ref))
    } catch (e) {
      if (hasCode(e, 'HANDLE_INVALID')) break
      throw e
    }
    if (!ops.length) break
    for (const [t, op] of ops) {
      if (asked.has(t)) continue
      asked.set(t, op)
      await task.cancel(x, t).catch((e: unknown) => {
        if (!settledTask(e)) throw e
      })
      o.onWait?.(`${label} is still in "${op}" (task ${t}), started by an interrupted run: cancelled it, waiting up to ${Math.round(timeoutMs / 1000)} s for it to end`)
    }
    const waited = Date.now() - started
    if (waited >= timeoutMs) {
      const busy = ops.map(([t, op]) => `"${op}" (task ${t})`).join(', ')
      throw new UserError({
        what: `${label} is still busy`,
        why: `XAPI still runs ${busy} on it after ${Math.round(waited / 1000)} s; it was started by an interrupted run, and task.cancel did not stop it`,
        fix: 'wait for the task to end (xe task-list), or cancel it (xe task-cancel uuid=<its uuid>), then run the same command again; nothing was removed',
      })
    }
    if (Date.now() - lastReport >= reportEvery) {
      lastReport = Date.now()
      o.onWait?.(`still waiting for ${label}: ${Math.round(waited / 1000)} s of at most ${Math.round(timeoutMs / 1000)} s`)
    }
    await sleep(Math.min(o.pollMs ?? 250, Math.max(1, timeoutMs - waited)))
  }
  return [...asked].map(([ref, op]) => ({ ref, op, of: label }))
}

export interface EndedTask {
  ref: string
  op: string
  /** The object it ran on, for the user. */
  of: string
}

/** The tasks settleOperations waited for have ended; nobody else will destroy them, since their client is gone. */
export async function destroyEndedTasks(x: XapiConnection, tasks: EndedTask[]): Promise<string[]> {
  const destroyed: string[] = []
  for (const t of tasks) {
    try {
      await task.destroy(x, t.ref)
      destroyed.push(`task ${t.ref} ("${t.op}" of ${t.of})`)
    } catch (e) {
      if (!settledTask(e)) throw e
    }
  }
  return destroyed
}
