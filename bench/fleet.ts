/**
 * Fleet rollout against four simulated hosts with 20 ms of latency on every XAPI call:
 * 200 VMs with the default limits (4 per host, 16 in all), then the same rollout at
 * concurrency 1 on four fresh hosts, in the same run. Prints wall time, XAPI calls per
 * VM and bytes uploaded, and checks the goals of issue 5: at least 10x faster than
 * sequential, one upload per SR, at most 15 calls per VM once its SR has a base.
 *
 * Each host is a `provision sim` process (so the four share the machine's cores, not
 * the benchmark's event loop); latency is armed through its /_sim/faults endpoint.
 * The image is the sample FreeBSD disk with a small kernel: what is measured is the
 * rollout's calls and parallelism, not the simulator's pygrub emulation.
 *
 *   npm run bench -- fleet          (or: npm run build && node dist/bench/fleet.js [VMs])
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeSampleImage } from '../src/image/write-image.js'
import { rollout, type RolloutResult } from '../src/index.js'

const HOSTS = 4
const VMS = Number(process.argv[2] ?? 200)
const LATENCY_MS = 20
const BIN = fileURLToPath(new URL('../../bin/provision.js', import.meta.url))
const ENV = { BENCH_USER: 'root', BENCH_PASSWORD: 'bench-password' }

interface Host {
  url: string
  child: ChildProcess
}

function startHost(): Promise<Host> {
  return new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=<dir>: each simulator writes a V8 CPU profile there (to see where its time goes).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
    // XCP-ng 8.2: the bench's recipe is the HOWTO's PV guest, which 8.3 (the default) refuses.
    const child = spawn(process.execPath, [...prof, BIN, 'sim', '--port', '0', '--profile', 'xcp-ng-8.2'], {
      env: { PATH: process.env.PATH ?? '', XAPI_USER: ENV.BENCH_USER, XAPI_PASSWORD: ENV.BENCH_PASSWORD },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.once('error', reject)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const m = /listening on (http:\/\/\S+)$/.exec(line)
      if (m) resolve({ url: `${m[1]}/`, child })
      else reject(new Error(`unexpected first line from the simulator: ${line}`))
    })
  })
}

async function admin<T>(h: Host, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  // The control API takes the simulator's XAPI credentials as HTTP Basic.
  const authorization = `Basic ${Buffer.from(`${ENV.BENCH_USER}:${ENV.BENCH_PASSWORD}`).toString('base64')}`
  const res = await fetch(new URL(path, h.url), { method, ...(body ? { body: JSON.stringify(body), headers: { authorization, 'content-type': 'application/json' } } : { headers: { authorization } }) })
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

interface Run {
  result: RolloutResult
  wallMs: number
  serverCalls: number
  vdiCreates: number
}

async function run(dir: string, concurrency: number | undefined): Promise<Run> {
  const hosts = await Promise.all(Array.from({ length: HOSTS }, startHost))
  try {
    await Promise.all(hosts.map((h) => admin(h, 'POST', '/_sim/faults', { method: '*', delayMs: LATENCY_MS, times: 0 })))
    const pools = Object.fromEntries(hosts.map((h, i) => [`h${i + 1}`, { url: h.url, user_env: 'BENCH_USER', password_env: 'BENCH_PASSWORD' }]))
    const fleet = {
      name: 'bench',
      pools,
      groups: [{ recipe: join(dir, 'recipe.yaml'), image: join(dir, 'disk.img'), pools: Object.keys(pools), names: `vm-{001..${String(VMS).padStart(3, '0')}}` }],
    }
    let done = 0
    const t0 = performance.now()
    const result = await rollout({
      fleet,
      env: ENV,
      ...(concurrency ? { concurrency } : {}),
      onEvent: (e) => {
        if (e.type === 'vm-done' && ++done % 50 === 0) process.stderr.write(`  ${done}/${VMS} VMs (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
      },
    })
    const wallMs = performance.now() - t0
    const calls = await Promise.all(hosts.map((h) => admin<{ method: string }[]>(h, 'GET', '/_sim/calls')))
    return {
      result,
      wallMs,
      serverCalls: calls.reduce((n, c) => n + c.length, 0),
      vdiCreates: calls.reduce((n, c) => n + c.filter((x) => x.method === 'VDI.create').length, 0),
    }
  } finally {
    for (const h of hosts) h.child.kill('SIGTERM')
  }
}

function report(label: string, r: Run): void {
  const created = r.result.vms.filter((v) => v.state === 'created')
  const perVm = created.map((v) => v.calls)
  const bytes = r.result.bases.reduce((n, b) => n + b.bytes_sent, 0)
  console.log(
    `${label.padEnd(22)} ${(r.wallMs / 1000).toFixed(1).padStart(6)} s  ${String(created.length).padStart(3)}/${VMS} created  ` +
      `calls: ${r.serverCalls} at the hosts (${(r.serverCalls / VMS).toFixed(1)} per VM overall), ` +
      `per VM after its SR's base ${Math.min(...perVm)}-${Math.max(...perVm)} (mean ${(perVm.reduce((a, b) => a + b, 0) / perVm.length).toFixed(1)}), setup ${r.result.calls.setup}  ` +
      `uploaded ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${r.result.bases.filter((b) => b.action === 'upload').length} uploads (${r.vdiCreates} VDI.create)`,
  )
}

const dir = await mkdtemp(join(tmpdir(), 'bench-fleet-'))
try {
  await writeSampleImage(join(dir, 'disk.img'), { kernelSize: 256 * 1024 })
  // The shipped recipe with a 1 GiB disk, so 50 clones fit a simulated host's 500 GiB SR.
  await writeFile(
    join(dir, 'recipe.yaml'),
    [
      'name: bench',
      'vdi: {virtual_size: 1GiB}',
      'memory: {static_min: 128MiB, static_max: 256MiB, dynamic_min: 256MiB, dynamic_max: 256MiB}',
      'pv: {bootloader: pygrub, bootloader_args: --kernel=/boot/kernel/kernel, args: "vfs.root.mountfrom=ufs:/dev/xbd0s1a"}',
      'other_config: {disable_pv_vnc: "1"}',
      '',
    ].join('\n'),
  )
  // The default-limits run is CPU-bound on a small machine (five processes parsing XML-RPC), the sequential one is latency-bound: say what the machine had.
  console.log(`fleet rollout: ${VMS} VMs over ${HOSTS} simulated hosts, ${LATENCY_MS} ms injected per XAPI call; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`)
  process.stderr.write('default limits (4 per host, 16 in all):\n')
  const parallel = await run(dir, undefined)
  report('default limits', parallel)
  process.stderr.write('concurrency 1:\n')
  const sequential = await run(dir, 1)
  report('concurrency 1', sequential)
  const speedup = sequential.wallMs / parallel.wallMs
  console.log(`load average at the end ${loadavg()[0]!.toFixed(2)}`)
  const maxCalls = Math.max(...parallel.result.vms.map((v) => v.calls))
  const uploadsPerSr = parallel.vdiCreates / HOSTS
  const ok = [speedup >= 10, uploadsPerSr === 1, maxCalls <= 15, parallel.result.ok, sequential.result.ok]
  console.log(
    `speedup ${speedup.toFixed(1)}x (goal >= 10x) · uploads per SR ${uploadsPerSr} (goal 1) · ` +
      `max calls per VM ${maxCalls} (goal <= 15) · all VMs created: ${parallel.result.ok && sequential.result.ok ? 'yes' : 'no'}`,
  )
  if (!ok.every(Boolean)) process.exitCode = 1
} finally {
  await rm(dir, { recursive: true, force: true })
}
