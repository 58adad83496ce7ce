import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Wire } from '../../mocks/codec/wire.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { login, rawCall, wireCall } from '../support/rpc.js'
import type { Simulator } from '../../mocks/simulator.js'
import { reportGuest } from '../../mocks/guest/agent.js'

/**
 * Conformance with XAPI's own datamodel, read from the full xenapi.json (not the subset
 * the simulator was generated from), and observed over the wire only.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const XENAPI = `${REPO}../shared/reference/xenapi.json`

interface RefField {
  name: string
  type: string
  default?: string
}
interface RefMessage {
  name: string
  params: { name: string; type: string }[]
  implicit: boolean
  description: string
}
interface RefClass {
  name: string
  fields: RefField[]
  messages: RefMessage[]
  enums: { name: string; values: { name: string }[] }[]
}

const present = existsSync(XENAPI)
if (!present) console.warn(`datamodel conformance skipped: ${XENAPI} is absent (CI keeps ../shared beside the clone)`)
const classes: RefClass[] = present ? (JSON.parse(readFileSync(XENAPI, 'utf8')) as RefClass[]) : []
const byName = new Map(classes.map((c) => [c.name, c]))
const enums = new Map(classes.flatMap((c) => c.enums.map((e) => [e.name, new Set(e.values.map((v) => v.name))] as const)))

const DIGITS = /^-?\d+$/
const DATETIME = /^\d{8}T\d{2}:\d{2}:\d{2}Z$/

/** Problems with one wire value against a datamodel type, as XAPI would marshal it over XML-RPC. */
function check(type: string, w: Wire, at: string): string[] {
  const bad = (what: string): string[] => [`${at}: ${type} sent as ${JSON.stringify(w)} (${what})`]
  if (type === 'int') return w.t === 'str' && DIGITS.test(w.v) ? [] : bad('int64 is an untyped string of digits')
  if (type === 'float') return w.t === 'double' ? [] : bad('float is <double>')
  if (type === 'bool') return w.t === 'bool' ? [] : bad('bool is <boolean>')
  if (type === 'datetime') return w.t === 'date' && DATETIME.test(w.v) ? [] : bad('datetime is <dateTime.iso8601> YYYYMMDDTHH:MM:SSZ')
  if (type === 'string') return w.t === 'str' ? [] : bad('string is untyped')
  if (type.endsWith(' ref')) return w.t === 'str' && /^OpaqueRef:/.test(w.v) ? [] : bad('a ref is OpaqueRef:…')
  if (type.endsWith(' set')) return w.t === 'arr' ? w.v.flatMap((x, i) => check(type.slice(0, -4), x, `${at}[${i}]`)) : bad('a set is an <array>')
  const map = /^\((.+) -> (.+)\) map$/.exec(type)
  if (map) {
    if (w.t !== 'struct') return bad('a map is a <struct>')
    return w.v.flatMap(([k, v]) => [...check(map[1]!, { t: 'str', v: k }, `${at} key`), ...check(map[2]!, v, `${at}.${k}`)])
  }
  if (type.startsWith('enum ')) return w.t === 'str' && enums.get(type.slice(5))?.has(w.v) ? [] : bad('not a value of the enum')
  return bad('type not understood by this test')
}

const member = (w: Wire, name: string): Wire | undefined => (w.t === 'struct' ? w.v.find(([k]) => k === name)?.[1] : undefined)

/** One object of every class the simulator serves, made through the real client. */
async function populate(sim: Simulator): Promise<void> {
  const x = await connectTo(sim)
  const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, 'c')
  await x.callAsync('VM.provision', vm)
  const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: 1 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
  await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
  await x.call('VIF.create', { VM: vm, network: sim.inventory.network, device: '0', MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
  await x.call('task.create', 'pending task', '')
  // A running VM: its VBDs get a device name, it gets a console and live VM_metrics.
  await x.callAsync('VM.start', vm, false, false)
  // What a booted guest with tools leaves (mocks/guest/agent.ts), so VM_guest_metrics has a record to check.
  reportGuest({ store: sim.state.store, sim: sim.state, session: '', method: 'test' }, vm, [{ device: '0', mac: '', ipv4: ['10.0.0.5'], ipv6: ['fe80::1'] }], {
    name: 'FreeBSD',
    uname: '14.3-RELEASE',
    distro: 'freebsd',
    major: '14',
    minor: '3',
  })
}

describe.skipIf(!present)('conformance with xenapi.json', () => {
  it('serves every record with exactly the datamodel fields, wire types and enum values', async () => {
    const sim = await withSimulator()
    await populate(sim)
    const s = await login(sim.url)
    const listed = (await rawCall(sim.url, 'system.listMethods')) as unknown as string[]
    const served = listed.filter((m) => m.endsWith('.get_all_records') && !m.startsWith('Async.')).map((m) => m.split('.')[0]!)
    // session has no get_all_records in XAPI either.
    expect(served.sort()).toEqual(['PBD', 'PIF', 'SR', 'VBD', 'VDI', 'VIF', 'VM', 'VM_guest_metrics', 'VM_metrics', 'console', 'host', 'host_cpu', 'host_metrics', 'network', 'pool', 'role', 'task'])
    const problems: string[] = []
    for (const cls of served) {
      const def = byName.get(cls)!
      const res = await wireCall(sim.url, `${cls}.get_all_records`, s)
      const records = member(res, 'Value')
      if (records?.t !== 'struct' || records.v.length === 0) throw new Error(`${cls}.get_all_records gave no records`)
      for (const [ref, rec] of records.v) {
        if (rec.t !== 'struct') throw new Error(`${cls} ${ref} is not a struct`)
        expect(rec.v.map(([k]) => k).sort(), `${cls} fields`).toEqual(def.fields.map((f) => f.name).sort())
        for (const f of def.fields) problems.push(...check(f.type, member(rec, f.name)!, `${cls}.${f.name}`))
      }
    }
    expect(problems).toEqual([])
  })

  it('lists only real methods, each with the datamodel parameter count (Async forms too)', async () => {
    const sim = await withSimulator()
    const s = await login(sim.url)
    const listed = (await rawCall(sim.url, 'system.listMethods')) as unknown as string[]
    const mismatches: string[] = []
    for (const name of listed.filter((m) => m !== 'system.listMethods')) {
      const [cls, msg] = name.replace(/^Async\./, '').split('.') as [string, string]
      const def = byName.get(cls)?.messages.find((m) => m.name === msg)
      if (!def) {
        mismatches.push(`${name} is not in the datamodel`)
        continue
      }
      // Too many arguments: the count check comes first and reports what the method expects.
      const sessionless = def.params[0]?.type !== 'session ref'
      const expected = sessionless ? def.params.length : def.params.length - 1
      const extra = Array.from({ length: expected + 3 }, () => 'x')
      const r = await rawCall(sim.url, name, ...(sessionless ? extra : [s, ...extra]))
      const want = ['MESSAGE_PARAMETER_COUNT_MISMATCH', name, String(expected), String(expected + 3)]
      if (JSON.stringify(r.ErrorDescription) !== JSON.stringify(want)) mismatches.push(`${name}: ${JSON.stringify(r.ErrorDescription)}`)
    }
    expect(mismatches).toEqual([])
    expect(listed.filter((m) => m.startsWith('Async.')).length).toBeGreaterThan(10)
  })

  it('constructors accept only the required fields and fill the rest with datamodel defaults', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const listed = (await rawCall(sim.url, 'system.listMethods')) as unknown as string[]
    // In dependency order, so each reference field can point at the object made just before.
    const ctors = ['network', 'VM', 'VDI', 'VBD', 'VIF', 'PBD'].filter((c) => listed.includes(`${c}.create`))
    const refsOf = async (cls: string): Promise<string> => (await x.call<string[]>(`${cls}.get_all`)).at(-1)!
    // Values the method bodies accept; everything else comes from the field's type.
    const semantic: Record<string, Record<string, unknown>> = {
      VM: { memory_static_max: 256 << 20, memory_dynamic_max: 256 << 20, memory_dynamic_min: 256 << 20, memory_static_min: 128 << 20, VCPUs_max: 1, VCPUs_at_startup: 1 },
      VIF: { device: '3', MAC: '00:16:3e:12:34:56', MTU: 1500 },
      VDI: { virtual_size: 1 << 20 },
      VBD: { userdevice: '2' },
    }
    const tried: string[] = []
    for (const cls of ctors) {
      const def = byName.get(cls)!
      const create = def.messages.find((m) => m.name === 'create' && m.implicit)
      if (!create) continue
      const args = /constructor args are: (.*?) \(\* = non-optional\)/s
        .exec(create.description)![1]!
        .split(',')
        .map((a) => a.trim())
      const required = args.filter((a) => a.endsWith('*')).map((a) => a.slice(0, -1))
      const record: Record<string, unknown> = {}
      for (const name of required) {
        const f = def.fields.find((ff) => ff.name === name)!
        record[name] = semantic[cls]?.[name] ?? (await valueOf(f.type, refsOf))
      }
      const ref = await x.call<string>(`${cls}.create`, record)
      const rec = await x.call<Record<string, unknown>>(`${cls}.get_record`, ref)
      for (const name of args.filter((a) => !a.endsWith('*'))) {
        const f = def.fields.find((ff) => ff.name === name)!
        const want = plainDefault(f)
        // The one derived default: VM.create turns "unspecified" into pv when HVM_boot_policy is "".
        if (want !== undefined) expect(rec[name], `${cls}.${name} default`).toEqual(cls === 'VM' && name === 'domain_type' ? 'pv' : want)
      }
      // A required field left out is refused by the generated server.
      const [first] = required
      const { [first!]: _omitted, ...short } = record
      await expect(x.call(`${cls}.create`, short)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' })
      tried.push(cls)
    }
    expect(tried.sort()).toEqual(['PBD', 'VBD', 'VDI', 'VIF', 'VM', 'network'])
  })
})

async function valueOf(type: string, refOf: (cls: string) => Promise<string>): Promise<unknown> {
  if (type === 'int') return 1
  if (type === 'bool') return false
  if (type === 'string') return ''
  if (type.endsWith(' map')) return {}
  if (type.endsWith(' set')) return []
  if (type.startsWith('enum ')) return [...enums.get(type.slice(5))!][0]
  if (type.endsWith(' ref')) return refOf(type.slice(0, -4))
  throw new Error(`no sample value for ${type}`)
}

/** A field's datamodel default as the xen-api client decodes it (ints as digit strings). */
function plainDefault(f: RefField): unknown {
  const d = f.default
  if (d === undefined || d === '{}') return d === '{}' ? (f.type.endsWith(' set') ? [] : {}) : undefined
  if (f.type === 'string') return JSON.parse(d)
  if (f.type === 'bool') return d === 'true'
  if (f.type === 'int') return d
  if (f.type === 'float') return Number(d.replace(/\.$/, ''))
  if (f.type.endsWith(' ref')) return 'OpaqueRef:NULL'
  return d
}
