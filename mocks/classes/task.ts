import { randomUUID } from 'node:crypto'
import { fault, type XapiFault } from '../fault.js'
import type { Handlers } from '../context.js'
import type { Store } from '../store.js'
import { xapiNow } from '../time.js'

export function createTask(store: Store, label: string, description: string, host?: string): string {
  return store.create('task', {
    name_label: label,
    name_description: description,
    status: 'pending',
    progress: 0,
    created: xapiNow(),
    allowed_operations: ['cancel', 'destroy'],
    resident_on: host,
    other_config: {},
  })
}

/** result is an XML-RPC fragment (<value>…</value>) even over JSON-RPC, as in XAPI. */
export function completeTask(store: Store, task: string, result: string): void {
  if (!store.has(task)) return
  const status = store.get('task', task).status
  if (status !== 'pending' && status !== 'cancelling') return
  store.update('task', task, { status: 'success', progress: 1, result, finished: xapiNow(), allowed_operations: ['destroy'] })
  destroyIfAsked(store, task)
}

/**
 * xapi_task.ml: task.destroy of a task still running only adds `destroy` to its
 * current_operations; the task goes once it completes (Db_gc's timeout_tasks; here at once).
 */
function destroyIfAsked(store: Store, task: string): void {
  const ops = store.get('task', task).current_operations as Record<string, string> | undefined
  if (ops && Object.values(ops).includes('destroy')) store.destroy('task', task)
}

const running = (status: unknown): boolean => status === 'pending' || status === 'cancelling'

export function failTask(store: Store, task: string, err: XapiFault): void {
  if (!store.has(task)) return
  const status = store.get('task', task).status
  if (status !== 'pending' && status !== 'cancelling') return
  store.update('task', task, {
    status: err.code === 'TASK_CANCELLED' ? 'cancelled' : 'failure',
    progress: 1,
    error_info: err.description,
    finished: xapiNow(),
    allowed_operations: ['destroy'],
  })
  destroyIfAsked(store, task)
}

export function setProgress(store: Store, task: string, progress: number): void {
  if (store.has(task) && store.get('task', task).status === 'pending') store.update('task', task, { progress })
}

export function isCancelling(store: Store, task: string | undefined): boolean {
  return !!task && store.has(task) && store.get('task', task).status === 'cancelling'
}

export const taskHandlers: Handlers = {
  'task.create': (c, [label, description]) => createTask(c.store, String(label), String(description), c.sim.host),
  'task.destroy': (c, [ref]) => {
    const t = c.store.get('task', String(ref))
    if (!running(t.status)) return c.store.destroy('task', String(ref))
    c.store.update('task', String(ref), { current_operations: { ...(t.current_operations as Record<string, string>), [c.task ?? `OpaqueRef:${randomUUID()}`]: 'destroy' } })
  },
  'task.cancel': (c, [ref]) => {
    const t = c.store.get('task', String(ref))
    if (!(t.allowed_operations as string[]).includes('cancel')) {
      throw fault('OPERATION_NOT_ALLOWED', `task ${String(ref)} cannot be cancelled in state ${String(t.status)}`)
    }
    // Work in progress notices 'cancelling' at its next step and fails with TASK_CANCELLED.
    c.store.update('task', String(ref), { status: 'cancelling', allowed_operations: ['destroy'] })
  },
  'task.set_status': (c, [ref, v]) => {
    c.store.update('task', String(ref), running(v) ? { status: v! } : { status: v!, finished: xapiNow(), allowed_operations: ['destroy'] })
    if (!running(v)) destroyIfAsked(c.store, String(ref))
  },
  'task.set_progress': (c, [ref, v]) => c.store.update('task', String(ref), { progress: v! }),
  'task.set_result': (c, [ref, v]) => c.store.update('task', String(ref), { result: v! }),
  'task.set_error_info': (c, [ref, v]) => c.store.update('task', String(ref), { error_info: v! }),
}
