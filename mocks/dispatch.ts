import { XapiFault, fault } from './fault.js'
import { classDef, fromWire, messageDef, toWire, type MessageDef, type Value } from './datamodel/model.js'
import type { Wire } from './codec/wire.js'
import { encodeValue } from './codec/xmlrpc.js'
import { asWireResult, type Ctx, type Handlers } from './context.js'
import type { SimState, Transport } from './state.js'
import { allHandlers } from './classes/index.js'
import { createTask, completeTask, failTask, isCancelling } from './classes/task.js'
import { holdOperation } from './operations.js'

/** Trailing parameters the datamodel gives defaults for: they may be omitted on the wire. */
const OPTIONAL_TRAILING: Record<string, number> = {
  'session.login_with_password': 2,
}

/** Messages that run without a session argument. */
const SESSIONLESS = new Set(['session.login_with_password', 'system.listMethods', 'session.slave_local_login_with_password'])

/** Neither getters/setters nor session/task/event messages have an Async form. */
function hasAsyncMode(cls: string, m: MessageDef): boolean {
  return !m.implicit && !['session', 'task', 'event'].includes(cls)
}

export interface Dispatcher {
  call(method: string, params: Wire[], transport?: Transport): Promise<Wire>
  methods(): string[]
}

export function createDispatcher(sim: SimState): Dispatcher {
  const handlers: Handlers = allHandlers()

  function resolve(method: string): { cls: string; name: string; async: boolean } | undefined {
    let rest = method
    let async = false
    if (rest.startsWith('Async.')) {
      async = true
      rest = rest.slice(6)
    }
    const dot = rest.indexOf('.')
    // VM_start is accepted as an alias of VM.start (Datamodel_utils.alternative_wire_name).
    const [cls, name] = dot > 0 ? [rest.slice(0, dot), rest.slice(dot + 1)] : splitUnderscore(rest)
    if (!cls || !name) return undefined
    return { cls, name, async }
  }

  function checkSession(token: Wire | undefined): string {
    const ref = token && (token.t === 'str' || token.t === 'int') ? token.v : ''
    if (sim.store.classOf(ref) !== 'session') throw fault('SESSION_INVALID', ref)
    // session_check.ml: a pool member serves no API calls, only the way to its coordinator.
    const master = String(sim.store.get('pool', sim.pool).master)
    if (master !== sim.host) throw fault('HOST_IS_SLAVE', String(sim.store.get('host', master).address))
    return ref
  }

  async function call(method: string, params: Wire[], transport: Transport = 'in-process'): Promise<Wire> {
    sim.callLog.push({ method, at: Date.now(), transport })
    if (method === 'system.listMethods') return { t: 'arr', v: methods().map((v) => ({ t: 'str', v })) }
    const target = resolve(method)
    const m = target && datamodelMessage(target.cls, target.name)
    const key = target ? `${target.cls}.${target.name}` : method
    if (!target || !m || !handlers[key] || (target.async && !hasAsyncMode(target.cls, m))) {
      // With at least one parameter, the session is checked before the name is looked up.
      if (params.length > 0 && !SESSIONLESS.has(key)) checkSession(params[0])
      if (target?.async && m && handlers[key]) throw fault('Fault', `No async mode for this operation (rpc: ${method})`)
      throw fault('MESSAGE_METHOD_UNKNOWN', method)
    }
    const sessionless = SESSIONLESS.has(key)
    const declared = sessionless ? m.params : m.params.slice(1)
    const given = sessionless ? params : params.slice(1)
    const optional = OPTIONAL_TRAILING[key] ?? 0
    if (given.length > declared.length || given.length < declared.length - optional || (!sessionless && params.length === 0)) {
      throw fault('MESSAGE_PARAMETER_COUNT_MISMATCH', method, declared.length, given.length)
    }
    const args: Value[] = given.map((w, i) => fromWire(declared[i]!.type, w))
    const session = sessionless ? '' : checkSession(params[0])
    const ctx: Ctx = { store: sim.store, sim, session, method: key }
    const impl = handlers[key]!
    // Injected faults sit where the method's own checks would fail: after the session
    // check, inside the task for Async calls, and while the operation is recorded in
    // current_operations (so injected latency makes OTHER_OPERATION_IN_PROGRESS observable).
    const handler: typeof impl = async (c, a) => {
      await holdOperation(c, key, a, () => sim.faults.before(key))
      // The first cancellation point: a task cancelled while pending never runs its body.
      if (c.task && isCancelling(sim.store, c.task)) throw fault('TASK_CANCELLED', c.task)
      return impl(c, a)
    }
    if (target.async) {
      const task = createTask(sim.store, `Async.${key}`, '', sim.host)
      setImmediate(() => {
        Promise.resolve()
          .then(() => handler({ ...ctx, task }, args))
          .then(
            (value) => completeTask(sim.store, task, encodeValue(toWire(m.result, value ?? '', target.cls))),
            (err: unknown) => failTask(sim.store, task, asFault(err)),
          )
      })
      return { t: 'str', v: task }
    }
    const value = await handler(ctx, args)
    return asWireResult(value) ?? toWire(m.result, value ?? '', target.cls)
  }

  function methods(): string[] {
    const names = Object.keys(handlers)
    const asyncNames = names.filter((k) => {
      const [cls, name] = [k.slice(0, k.indexOf('.')), k.slice(k.indexOf('.') + 1)]
      const m = datamodelMessage(cls, name)
      return m && hasAsyncMode(cls, m)
    })
    return ['system.listMethods', ...names, ...asyncNames.map((n) => `Async.${n}`)].sort()
  }

  return { call, methods }
}

function datamodelMessage(cls: string, name: string): MessageDef | undefined {
  try {
    classDef(cls)
  } catch {
    return undefined
  }
  return messageDef(cls, name)
}

function splitUnderscore(s: string): [string, string] | [] {
  const i = s.indexOf('_')
  return i > 0 ? [s.slice(0, i), s.slice(i + 1)] : []
}

export function asFault(err: unknown): XapiFault {
  if (err instanceof XapiFault) return err
  return new XapiFault('INTERNAL_ERROR', [err instanceof Error ? err.message : String(err)])
}
