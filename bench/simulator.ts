/**
 * The simulator's throughput and footprint: `npx tsx bench/simulator.ts` (or `npm run
 * bench -- simulator`). Calls per second for a mix of lookups and sets through the real
 * xen-api client on each transport, then the heap and RSS with 10,000 VMs and how long
 * the calls that grow with the VM count (VM.get_all_records, event.from) take, then the
 * RSS of a 2 GiB base VDI full of data with 100 copy-on-write clones (sparse-disk.ts).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createClient } from 'xen-api'
import { startSimulator, type Simulator } from '../mocks/simulator.js'

const SECONDS = 3
const CONCURRENCY = 8
const VMS = 10_000
const MiB = 1024 * 1024

// A heap figure means little without a collection first; run_in_new_context is how a
// process started without --expose-gc gets the function.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heap = (): number => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** 8 workers for SECONDS: 3 lookups for each set, like a provisioning run's mix. */
async function callsPerSecond(sim: Simulator, transport: 'xml-rpc' | 'json-rpc'): Promise<number> {
  const client = createClient({ url: sim.url, auth: sim.credentials, transport, watchEvents: false })
  await client.connect()
  const vm = sim.inventory.template
  const mix = [
    () => client.call('VM.get_by_name_label', 'Other install media'),
    () => client.call('VM.get_record', vm),
    () => client.call('SR.get_by_name_label', 'Local storage'),
    () => client.call('VM.set_name_description', vm, `d${Math.random()}`),
  ]
  let calls = 0
  const until = performance.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await mix[calls % mix.length]!()
        calls++
      }
    }),
  )
  await client.disconnect()
  return calls / SECONDS
}

async function tenThousandVms(): Promise<void> {
  const before = heap()
  const sim = await startSimulator()
  const empty = heap()
  const session = await sim.dispatcher.call('session.login_with_password', [
    { t: 'str', v: sim.credentials.user },
    { t: 'str', v: sim.credentials.password },
  ])
  const t0 = performance.now()
  for (let i = 0; i < VMS; i++) {
    await sim.dispatcher.call('VM.clone', [session, { t: 'str', v: sim.inventory.template }, { t: 'str', v: `vm-${i}` }])
  }
  const created = performance.now() - t0
  const full = heap()
  const rss = process.memoryUsage().rss
  const client = createClient({ url: sim.url, auth: sim.credentials, transport: 'xml-rpc', watchEvents: false })
  await client.connect()
  // The same call as raw HTTP, to tell the simulator's share from the client's XML parsing.
  const t0raw = performance.now()
  const raw = await fetch(sim.url, { method: 'POST', body: `<methodCall><methodName>VM.get_all_records</methodName><params><param><value>${client.sessionId}</value></param></params></methodCall>` })
  const bytes = (await raw.arrayBuffer()).byteLength
  const rawMs = performance.now() - t0raw
  const t1 = performance.now()
  const records = (await client.call('VM.get_all_records')) as Record<string, unknown>
  const allRecords = performance.now() - t1
  const t2 = performance.now()
  await client.call('event.from', ['vm'], '', 0.1)
  const eventFrom = performance.now() - t2
  await client.disconnect()
  await sim.close()
  console.log(`simulator heap: ${((empty - before) / MiB).toFixed(1)} MiB empty, ${((full - empty) / MiB).toFixed(1)} MiB for ${VMS} VMs (${((full - empty) / VMS / 1024).toFixed(1)} KiB each)`)
  console.log(`process RSS with ${VMS} VMs: ${(rss / MiB).toFixed(0)} MiB`)
  console.log(`VM.clone x${VMS} in-process: ${(created / 1000).toFixed(2)} s (${Math.round(VMS / (created / 1000))}/s)`)
  console.log(
    `VM.get_all_records with ${Object.keys(records).length} VMs over XML-RPC: ${(bytes / MiB).toFixed(0)} MiB answered in ${rawMs.toFixed(0)} ms; ${allRecords.toFixed(0)} ms through the xen-api client`,
  )
  console.log(`event.from(['vm'], '') with ${VMS} VMs over XML-RPC: ${eventFrom.toFixed(0)} ms`)
}

// `-- clones` runs the clone figure alone, in a process no other phase has grown.
if (!process.argv.includes('clones')) {
  for (const transport of ['xml-rpc', 'json-rpc'] as const) {
    const sim = await startSimulator()
    const rate = await callsPerSecond(sim, transport)
    await sim.close()
    console.log(`${transport}: ${Math.round(rate)} calls/s (${CONCURRENCY} concurrent, 3 lookups : 1 set, xen-api client)`)
  }
  await xenApiPy()
  await tenThousandVms()
}
await clones()

/**
 * The same mix through Citrix's XenAPI.py (Debian's python3-os-xenapi, or XENAPI_PY), the
 * client Ansible and the SDK scripts use: one Python thread, as a playbook's module runs.
 */
async function xenApiPy(): Promise<void> {
  const dir = process.env.XENAPI_PY ? dirname(process.env.XENAPI_PY) : '/usr/lib/python3/dist-packages/os_xenapi/client'
  if (!existsSync(join(dir, 'XenAPI.py'))) return console.log(`XenAPI.py: not measured (no ${join(dir, 'XenAPI.py')}; apt-get install python3-os-xenapi, or set XENAPI_PY)`)
  const sim = await startSimulator()
  const script = `
import sys, time, XenAPI
s = XenAPI.Session(sys.argv[1]); s.xenapi.login_with_password('root', 'simulator', '1.0', 'bench')
vm = sys.argv[2]; n = 0; until = time.time() + ${SECONDS}
while time.time() < until:
    k = n % 4
    if k == 0: s.xenapi.VM.get_by_name_label('Other install media')
    elif k == 1: s.xenapi.VM.get_record(vm)
    elif k == 2: s.xenapi.SR.get_by_name_label('Local storage')
    else: s.xenapi.VM.set_name_description(vm, 'd%d' % n)
    n += 1
print(n / ${SECONDS})
`
  // /usr/bin/python3: Debian's interpreter, whose path holds the package (a pyenv python3 on PATH may not).
  // Asynchronous: the simulator answering it runs in this very process.
  const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', script, sim.url, sim.inventory.template], { env: { ...process.env, PYTHONPATH: dir }, timeout: 60_000 })
  const out = stdout.trim()
  await sim.close()
  console.log(`XenAPI.py: ${Math.round(Number(out))} calls/s (1 thread, 3 lookups : 1 set, ${dir}/XenAPI.py)`)
}

/** A 2 GiB base written through VDI contents, then 100 VDI.clone: RSS before and after. */
async function clones(): Promise<void> {
  const sim = await startSimulator({ localSrSize: 512 * 1024 * MiB })
  const x = createClient({ url: sim.url, auth: sim.credentials, transport: 'xml-rpc', watchEvents: false })
  await x.connect()
  const base = (await x.call('VDI.create', {
    name_label: 'base',
    name_description: '',
    SR: sim.inventory.localSr,
    virtual_size: 2048 * MiB,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    xenstore_data: {},
    sm_config: {},
    tags: [],
  })) as string
  const disk = sim.state.disks.get(base)!
  const chunk = Buffer.alloc(MiB, 0xa5)
  for (let off = 0; off < 2048 * MiB; off += MiB) disk.write(off, chunk)
  gc()
  const written = process.memoryUsage().rss
  const t0 = performance.now()
  for (let i = 0; i < 100; i++) await x.call('VDI.clone', base, {})
  const ms = performance.now() - t0
  gc()
  const after = process.memoryUsage().rss
  await x.disconnect()
  await sim.close()
  console.log(`2 GiB base + 100 VDI.clone: RSS ${(written / MiB).toFixed(0)} MiB after writing the base, ${(after / MiB).toFixed(0)} MiB with the clones (${ms.toFixed(0)} ms for the clones)`)
}
