import { randomUUID } from 'node:crypto'
import { fault } from './fault.js'
import { defaultRecord, NULL_REF, type Value, type XRecord } from './datamodel/model.js'

/**
 * One-to-many relations XAPI's database keeps in step on both sides: the child's ref
 * field and the parent's ref set. The store maintains the parent side so class
 * modules only ever set the child's field.
 */
const RELATIONS: [child: string, field: string, parent: string, set: string][] = [
  ['VBD', 'VM', 'VM', 'VBDs'],
  ['VBD', 'VDI', 'VDI', 'VBDs'],
  ['VIF', 'VM', 'VM', 'VIFs'],
  ['VIF', 'network', 'network', 'VIFs'],
  ['VDI', 'SR', 'SR', 'VDIs'],
  ['PBD', 'SR', 'SR', 'PBDs'],
  ['PBD', 'host', 'host', 'PBDs'],
  ['VM', 'resident_on', 'host', 'resident_VMs'],
  ['task', 'subtask_of', 'task', 'subtasks'],
  ['PIF', 'host', 'host', 'PIFs'],
  ['PIF', 'network', 'network', 'PIFs'],
  ['host_cpu', 'host', 'host', 'host_CPUs'],
  ['console', 'VM', 'VM', 'consoles'],
]

export interface StoreEvent {
  id: number
  cls: string
  operation: 'add' | 'mod' | 'del'
  ref: string
  snapshot?: XRecord
}

interface Row {
  cls: string
  record: XRecord
  created: number
  changed: number
}

/** The simulator's database: one per server instance, no global state. */
export class Store {
  private rows = new Map<string, Row>()
  private byClass = new Map<string, Set<string>>()
  private tombstones: { ref: string; cls: string; gen: number; created: number }[] = []
  private waiters = new Set<() => void>()
  private listeners: ((cls: string, ref: string) => void)[] = []
  private inListener = false
  generation = 0

  /**
   * Runs `fn` after every create and update, for values xapi derives from others
   * (classes/derived.ts). Changes `fn` makes itself do not call it again.
   */
  onChange(fn: (cls: string, ref: string) => void): void {
    this.listeners.push(fn)
  }

  private changed(cls: string, ref: string): void {
    if (this.inListener || this.listeners.length === 0) return
    this.inListener = true
    try {
      for (const fn of this.listeners) fn(cls, ref)
    } finally {
      this.inListener = false
    }
  }

  create(cls: string, fields: Partial<XRecord>, ref = `OpaqueRef:${randomUUID()}`): string {
    const defaults = defaultRecord(cls)
    // Only datamodel fields: clients freeze a class's shape from the first record they see.
    const known = Object.fromEntries(Object.entries(stripUndefined(fields)).filter(([k]) => k in defaults))
    const record: XRecord = { ...defaults, uuid: randomUUID(), ...known }
    const gen = ++this.generation
    this.rows.set(ref, { cls, record, created: gen, changed: gen })
    let set = this.byClass.get(cls)
    if (!set) this.byClass.set(cls, (set = new Set()))
    set.add(ref)
    for (const [child, field, parent, parentSet] of RELATIONS) {
      if (child === cls) this.link(record[field], parent, parentSet, ref, true)
    }
    this.changed(cls, ref)
    this.notify()
    return ref
  }

  has(ref: string): boolean {
    return this.rows.has(ref)
  }

  classOf(ref: string): string | undefined {
    return this.rows.get(ref)?.cls
  }

  /** The live record: callers must go through update() to change it, so events fire. */
  get(cls: string, ref: string): Readonly<XRecord> {
    const row = this.rows.get(ref)
    // A ref of another class is as invalid as a missing one (DBCache_NotFound).
    if (!row || row.cls !== cls) throw fault('HANDLE_INVALID', cls, ref)
    return row.record
  }

  update(cls: string, ref: string, patch: Partial<XRecord>): void {
    const row = this.rows.get(ref)
    if (!row || row.cls !== cls) throw fault('HANDLE_INVALID', cls, ref)
    for (const [child, field, parent, parentSet] of RELATIONS) {
      if (child === cls && field in patch && patch[field] !== row.record[field]) {
        this.link(row.record[field], parent, parentSet, ref, false)
        this.link(patch[field], parent, parentSet, ref, true)
      }
    }
    for (const [k, v] of Object.entries(patch)) if (v !== undefined && k in row.record) row.record[k] = v
    row.changed = ++this.generation
    this.changed(cls, ref)
    this.notify()
  }

  destroy(cls: string, ref: string): void {
    const row = this.rows.get(ref)
    if (!row || row.cls !== cls) throw fault('HANDLE_INVALID', cls, ref)
    for (const [child, field, parent, parentSet] of RELATIONS) {
      if (child === cls) this.link(row.record[field], parent, parentSet, ref, false)
    }
    this.rows.delete(ref)
    this.byClass.get(cls)?.delete(ref)
    this.tombstones.push({ ref, cls, gen: ++this.generation, created: row.created })
    this.notify()
  }

  refs(cls: string): string[] {
    return [...(this.byClass.get(cls) ?? [])]
  }

  all(cls: string): [string, Readonly<XRecord>][] {
    return this.refs(cls).map((r) => [r, this.rows.get(r)!.record])
  }

  find(cls: string, pred: (r: Readonly<XRecord>) => boolean): [string, Readonly<XRecord>][] {
    return this.all(cls).filter(([, r]) => pred(r))
  }

  byUuid(cls: string, uuid: string): string {
    const hit = this.all(cls).find(([, r]) => r.uuid === uuid)
    if (!hit) throw fault('UUID_INVALID', cls, uuid)
    return hit[0]
  }

  /** Objects changed after generation `since`, coalesced per object as event.from does. */
  changesSince(since: number, wants: (cls: string, ref: string) => boolean = () => true): StoreEvent[] {
    const out: StoreEvent[] = []
    for (const [ref, row] of this.rows) {
      if (row.changed <= since || !wants(row.cls, ref)) continue
      out.push({
        id: row.changed,
        cls: row.cls,
        operation: row.created > since ? 'add' : 'mod',
        ref,
        snapshot: structuredClone(row.record),
      })
    }
    // A deletion is news only to a client that could have seen the object: one created
    // after the token and gone before the call sends nothing at all (xapi_event.ml collect_events).
    for (const t of this.tombstones) {
      if (t.gen > since && t.created <= since && wants(t.cls, t.ref)) {
        out.push({ id: t.gen, cls: t.cls, operation: 'del', ref: t.ref })
      }
    }
    return out.sort((a, b) => a.id - b.id)
  }

  /** Resolves on the next change, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.waiters.add(done)
    })
  }

  /** Wakes every event.from long-poll; used on shutdown too. */
  notify(): void {
    for (const w of [...this.waiters]) w()
  }

  /**
   * Puts back a record saved by snapshot(), ref, uuid and relations as they were; for
   * --state-file. Fields the datamodel has gained since are filled with defaults.
   */
  restore(cls: string, ref: string, record: XRecord): void {
    const known = Object.fromEntries(Object.entries(record).filter(([k]) => k in defaultRecord(cls)))
    const gen = ++this.generation
    this.rows.set(ref, { cls, record: { ...defaultRecord(cls), ...known }, created: gen, changed: gen })
    let set = this.byClass.get(cls)
    if (!set) this.byClass.set(cls, (set = new Set()))
    set.add(ref)
  }

  snapshot(): Record<string, Record<string, XRecord>> {
    const out: Record<string, Record<string, XRecord>> = {}
    for (const [ref, row] of this.rows) (out[row.cls] ??= {})[ref] = structuredClone(row.record)
    return out
  }

  private link(target: Value | undefined, parent: string, set: string, ref: string, add: boolean): void {
    if (typeof target !== 'string' || target === NULL_REF) return
    const row = this.rows.get(target)
    if (!row || row.cls !== parent) return
    const refs = (row.record[set] as string[] | undefined) ?? []
    row.record[set] = add ? [...refs.filter((r) => r !== ref), ref] : refs.filter((r) => r !== ref)
    row.changed = ++this.generation
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
