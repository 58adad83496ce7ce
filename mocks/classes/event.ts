import { fault } from '../fault.js'
import type { Handlers } from '../context.js'
import { datamodel, toWire } from '../datamodel/model.js'
import { arr, str, struct, type Wire } from '../codec/wire.js'
import { wireResult } from '../context.js'

/** event.from tokens are "%020d,%020d": database generation, message generation. */
export const formatToken = (gen: number): string => `${String(gen).padStart(20, '0')},${'0'.padStart(20, '0')}`

function parseToken(token: string): number {
  if (token === '') return 0
  const m = /^(\d+),(\d+)$/.exec(token)
  if (!m) throw fault('EVENT_FROM_TOKEN_PARSE_FAILURE', token)
  return Number(m[1])
}

/** Classes created with gen_events:false in xapi's datamodel: event.from never reports them. */
const NO_EVENTS = new Set(['session', 'user', 'secret'])
/** Classes xapi keeps outside its database (in_db:false): they have no table to count. */
const NOT_IN_DB = new Set(['auth', 'event', 'message', 'data_source', 'sr_stat', 'probe_result', 'vdi_nbd_server_info'])
/** valid_ref_counts covers every table of the database, subscribed to or not, empty or not. */
const TABLES = Object.keys(datamodel.catalogue).filter((c) => !NOT_IN_DB.has(c))

/** Longest wait the simulator grants, below the xen-api client's 66 s call timeout. */
const MAX_WAIT_MS = 60_100

export const eventHandlers: Handlers = {
  'event.inject': (c, [cls, ref]) => {
    const name = String(cls)
    const table = c.store.classOf(String(ref))
    if (!table || table.toLowerCase() !== name.toLowerCase()) throw fault('HANDLE_INVALID', name, String(ref))
    c.store.update(table, String(ref), {})
    return formatToken(c.store.generation)
  },
  'event.get_current_id': (c) => c.store.generation,
  'event.from': async (c, [classes, token, timeout]) => {
    // "vm" watches a class, "task/OpaqueRef:…" one object, "*" everything.
    const wanted = (classes as string[]).map((x) => x.toLowerCase())
    const all = wanted.includes('*')
    const filter = new Set(wanted.filter((x) => !x.includes('/')))
    const objects = new Set((classes as string[]).filter((x) => x.includes('/')).map((x) => x.slice(x.indexOf('/') + 1)))
    const wants = (cls: string, ref: string): boolean => !NO_EVENTS.has(cls) && (all || filter.has(cls.toLowerCase()) || objects.has(ref))
    const since = parseToken(String(token))
    const deadline = Date.now() + Math.min(Number(timeout) * 1000, MAX_WAIT_MS)
    let events = c.store.changesSince(since, wants)
    while (events.length === 0 && Date.now() < deadline && !c.sim.life.closing) {
      await c.store.waitForChange(deadline - Date.now())
      events = c.store.changesSince(since, wants)
    }
    const counts: [string, Wire][] = TABLES.map((cls) => [cls.toLowerCase(), { t: 'i4', v: c.store.refs(cls).length }])
    const wire: Wire = struct([
      [
        'events',
        arr(
          events.map((e) =>
            struct([
              // Int64.to_string in xapi_event.ml: a string on both wires, "12" not 12 in JSON.
              ['id', str(String(e.id))],
              ['timestamp', str('0.0')],
              ['class', str(e.cls.toLowerCase())],
              ['operation', str(e.operation)],
              ['ref', str(e.ref)],
              ...(e.snapshot ? [['snapshot', toWire('<class> record', e.snapshot, e.cls)] as [string, Wire]] : []),
            ]),
          ),
        ),
      ],
      // valid_ref_counts are Int32 in XAPI, the one place it writes <i4>.
      ['valid_ref_counts', struct(counts)],
      ['token', str(formatToken(c.store.generation))],
    ])
    return wireResult(wire)
  },
}
