import { randomUUID } from 'node:crypto'
import type { Ctx } from './context.js'
import type { Value } from './datamodel/model.js'
import { assertOperation } from './classes/vm-lifecycle.js'
import { assertVdiOperation } from './classes/vdi.js'

/**
 * message_forwarding.ml runs each lifecycle call inside with_vm_operation (or its VDI
 * twin): check the operation is allowed, record it in current_operations under the
 * call's task, run, then clear it. A second call meanwhile sees the record and fails
 * with OTHER_OPERATION_IN_PROGRESS. The simulator's method bodies run without yielding,
 * so what another caller can observe is the window before the body: injected latency.
 */
const OPERATIONS: Record<string, { cls: 'VM' | 'VDI'; op: string }> = {
  'VM.start': { cls: 'VM', op: 'start' },
  'VM.clone': { cls: 'VM', op: 'clone' },
  'VM.provision': { cls: 'VM', op: 'provision' },
  'VM.hard_shutdown': { cls: 'VM', op: 'hard_shutdown' },
  'VM.clean_shutdown': { cls: 'VM', op: 'clean_shutdown' },
  'VM.destroy': { cls: 'VM', op: 'destroy' },
  'VDI.destroy': { cls: 'VDI', op: 'destroy' },
  'VDI.clone': { cls: 'VDI', op: 'clone' },
}

export async function holdOperation(c: Ctx, method: string, args: Value[], during: () => Promise<void>): Promise<void> {
  const target = OPERATIONS[method]
  if (!target) return during()
  const ref = String(args[0])
  if (target.cls === 'VM') assertOperation(ref, c.store.get('VM', ref), target.op)
  else assertVdiOperation(c, ref, target.op)
  const key = c.task ?? `OpaqueRef:${randomUUID()}`
  const mark = (on: boolean): void => {
    if (!c.store.has(ref)) return
    const ops = { ...(c.store.get(target.cls, ref).current_operations as Record<string, string>) }
    if (on) ops[key] = target.op
    else delete ops[key]
    c.store.update(target.cls, ref, { current_operations: ops })
  }
  mark(true)
  try {
    await during()
  } finally {
    mark(false)
  }
}
