import { fault } from '../fault.js'
import { classDef, fromWire, type Value, type XRecord } from '../datamodel/model.js'
import type { Ctx, Handler, Handlers } from '../context.js'
import type { Wire } from '../codec/wire.js'

/**
 * Implementations of the datamodel's implicit messages (getters, setters, map and set
 * updates, constructors, destructors), generated from the field list so every class
 * has exactly the accessors XAPI has.
 */
export function implicitHandlers(cls: string): Handlers {
  const def = classDef(cls)
  const out: Handlers = {}
  const fieldOf = (name: string) => def.fields.find((f) => f.name === name)
  for (const m of def.messages.filter((x) => x.implicit)) {
    const key = `${cls}.${m.name}`
    let h: Handler | undefined
    if (m.name === 'get_record') h = (c, [ref]) => c.store.get(cls, String(ref)) as XRecord
    else if (m.name === 'get_by_uuid') h = (c, [uuid]) => c.store.byUuid(cls, String(uuid))
    else if (m.name === 'get_all') h = (c) => c.store.refs(cls)
    else if (m.name === 'get_all_records') h = (c) => Object.fromEntries(c.store.all(cls)) as Record<string, Value>
    else if (m.name === 'get_by_name_label') h = (c, [label]) => c.store.find(cls, (r) => r.name_label === label).map(([ref]) => ref)
    else if (m.name === 'create') h = (c, [rec]) => c.store.create(cls, constructorFields(cls, rec))
    else if (m.name === 'destroy') h = (c, [ref]) => c.store.destroy(cls, String(ref))
    else if (m.name.startsWith('get_') && fieldOf(m.name.slice(4))) h = (c, [ref]) => c.store.get(cls, String(ref))[m.name.slice(4)] as Value
    else if (m.name.startsWith('set_') && fieldOf(m.name.slice(4))) h = (c, [ref, v]) => c.store.update(cls, String(ref), { [m.name.slice(4)]: v as Value })
    else if (m.name.startsWith('add_to_') && fieldOf(m.name.slice(7))) h = addToMap(cls, m.name.slice(7))
    else if (m.name.startsWith('remove_from_') && fieldOf(m.name.slice(12))) h = removeFromMap(cls, m.name.slice(12))
    else if (m.name.startsWith('add_') && fieldOf(m.name.slice(4))) h = setAdd(cls, m.name.slice(4), true)
    else if (m.name.startsWith('remove_') && fieldOf(m.name.slice(7))) h = setAdd(cls, m.name.slice(7), false)
    if (h) out[key] = h
  }
  return out
}

function addToMap(cls: string, field: string): Handler {
  return (c: Ctx, [ref, key, value]) => {
    const r = String(ref)
    const map = c.store.get(cls, r)[field] as Record<string, Value>
    const k = String(key)
    if (k === '') throw fault('INTERNAL_ERROR', 'Db_exn.Empty_key_in_map')
    // Raised even when the value is identical: the coordinator's maps are not idempotent.
    if (k in map) throw fault('MAP_DUPLICATE_KEY', cls, field, r, k)
    c.store.update(cls, r, { [field]: { ...map, [k]: value as Value } })
  }
}

function removeFromMap(cls: string, field: string): Handler {
  return (c: Ctx, [ref, key]) => {
    const r = String(ref)
    const map = { ...(c.store.get(cls, r)[field] as Record<string, Value>) }
    if (!(String(key) in map)) return
    delete map[String(key)]
    c.store.update(cls, r, { [field]: map })
  }
}

function setAdd(cls: string, field: string, add: boolean): Handler {
  return (c: Ctx, [ref, value]) => {
    const r = String(ref)
    const cur = (c.store.get(cls, r)[field] as Value[]).filter((x) => x !== value)
    c.store.update(cls, r, { [field]: add ? [...cur, value as Value] : cur })
  }
}

/**
 * A constructor's record argument: required fields must be present (XAPI's generated
 * server fails with Dispatcher_FieldNotFound), defaulted ones may be omitted, extra
 * fields are ignored.
 */
export function constructorFields(cls: string, rec: Value | undefined): XRecord {
  const m = classDef(cls).messages.find((x) => x.name === 'create' && x.ctor)
  const given = (rec ?? {}) as unknown as Record<string, Wire>
  const out: XRecord = {}
  for (const name of m?.ctor?.fields ?? []) {
    const f = classDef(cls).fields.find((x) => x.name === name)
    if (!f) continue
    const w = given[name]
    if (w === undefined) {
      if (m?.ctor?.required.includes(name)) {
        throw fault('INTERNAL_ERROR', `Server_helpers.Dispatcher_FieldNotFound("${name}")`)
      }
      continue
    }
    out[name] = fromWire(f.type, w)
  }
  return out
}
