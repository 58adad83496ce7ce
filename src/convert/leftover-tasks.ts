import type { XapiConnection } from '../xapi/connection.js'
import * as task from '../xapi/task.js'

/** The description putSegment gives the boot blocks' upload task: it starts with the VDI's ref. */
export const BOOTCODE_LABEL = 'boot blocks'

/**
 * A run killed during its boot-block upload leaves the task it made with task.create,
 * still pending (XAPI destroys a task only once it completes). The re-run ends and
 * destroys those of this disk, found by the description the upload gave them.
 */
export async function removeLeftoverTasks(x: XapiConnection, vdi: string): Promise<number> {
  const all = await task.get_all_records(x)
  const mine = Object.entries(all).filter(([, t]) => t.name_label === 'xcp-provision: import raw VDI' && t.name_description === `${vdi}: ${BOOTCODE_LABEL}`)
  for (const [ref, t] of mine) {
    if (t.status === 'pending') await task.set_status(x, ref, 'cancelled').catch(() => undefined)
    await task.destroy(x, ref).catch(() => undefined)
  }
  return mine.length
}
