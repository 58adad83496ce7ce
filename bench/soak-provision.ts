/**
 * kill -9 soak for single provisions (issue 14): at seeded random points, `provision`
 * (the built CLI, a real process) is killed outright, and the same command is run again
 * at once, while the host may still be finishing what the killed run asked for. Every
 * re-run must converge: exactly one VM of the name, running, with one VDI, VBD and VIF;
 * nothing leaked (VM under the temporary name, VDI, VBD, VIF, pending or xcp-provision
 * task, name claim); no data disk removed (a user's disk, and a finished disk another
 * provision made for a VM destroyed by hand since).
 *
 *   npm run soak:provision [-- POINTS [SEED] [SCENARIO]]     (default 50 points, seed 14, pv)
 *
 * Scenarios: `pv`, the HOWTO's freebsd-9 (XCP-ng 8.2); `hvm-drive`, freebsd-14 (HVM, UEFI,
 * XCP-ng 8.3) with a NoCloud config drive, a xenstore key and `--wait vm-data:ready=yes
 * --wait ip`: the VM must also keep its drive, and no drive or guest metrics may leak.
 *
 * Two kinds of kill point, drawn half and half:
 * - call: the simulator holds the run's `nth` call (any method), the process is killed
 *   meanwhile, and the call is let go 0 to 300 ms later (the host finishes it, as a real
 *   one would), while the re-run is already starting;
 * - delay: the process is killed `ms` after it started, wherever it is (drawn between a
 *   clean run's first XAPI call and its end).
 * The draw, the totals and the words shared with bench/soak-fleet.ts (a *kill point*, a
 * point *converged*, *leaks* per class, *data disks removed*) are in bench/soak/driver.ts.
 * test/reliability/soak-provision.test.ts runs three points.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { startSimulator, type Simulator } from '../mocks/simulator.js'
import { writeSampleHvmImage, writeSampleImage } from '../src/image/write-image.js'
import { connect } from '../src/xapi/connection.js'
import { addDataDisk, BIN, drive, headline, refsNow, removedDisks, ROOT, runCli as runBin, summary, SUFFIX, type PointOutcome, type Totals } from './soak/driver.js'

/**
 * freebsd-14 with a NoCloud drive whose user data writes vm-data/ready, and a xenstore key:
 * every step the first-boot work added runs (the kill points' and fault rows' recipe too).
 */
export async function writeFirstBootRecipe(file: string, o: { recipe?: 'freebsd-14' | 'freebsd-13'; removeAfter?: 'never' | 'ready' } = {}): Promise<string> {
  const base = await readFile(fileURLToPath(new URL(`recipes/${o.recipe ?? 'freebsd-14'}.yaml`, ROOT)), 'utf8')
  await writeFile(
    file,
    `${base}\ncloud_init:\n  user_data: |\n    #cloud-config\n    runcmd:\n      - xenstore-write vm-data/ready yes\n  remove_after: ${o.removeAfter ?? 'never'}\nxenstore:\n  vm-data/role: web\n`,
  )
  return file
}

export type ScenarioName = 'pv' | 'hvm-drive'

interface Scenario {
  name: ScenarioName
  vmName: string
  /** The PV sample needs a release that runs PV guests; HVM runs on the newest. */
  profile: string
  /** Config drives the finished VM keeps (beside its boot disk). */
  drives: number
  /** Writes the image and recipe into `dir`; returns the command's arguments after the binary. */
  prepare(dir: string): Promise<string[]>
}

const SCENARIOS: Record<ScenarioName, Scenario> = {
  pv: {
    name: 'pv',
    vmName: 'FreeBSD-9.0',
    profile: 'xcp-ng-8.2',
    drives: 0,
    async prepare(dir) {
      const image = join(dir, 'freebsd.img')
      await writeSampleImage(image)
      return ['freebsd-9', '--image', image]
    },
  },
  'hvm-drive': {
    name: 'hvm-drive',
    vmName: 'FreeBSD-14',
    profile: 'xcp-ng-8.3',
    drives: 1,
    async prepare(dir) {
      const image = join(dir, 'freebsd-14.img')
      await writeSampleHvmImage(image, { firmware: 'uefi' })
      return [await writeFirstBootRecipe(join(dir, 'freebsd-14-drive.yaml')), '--image', image, '--wait', 'vm-data:ready=yes', '--wait', 'ip', '--wait-timeout', '60']
    },
  },
}

/** `call`: the run's nth call is held, then the process killed; `delay`: killed `ms` after it started. */
export type KillPoint = { kind: 'call'; nth: number; holdMs: number } | { kind: 'delay'; ms: number }

const LEAK_KINDS = ['vm', 'vdi', 'vbd', 'vif', 'task', 'claim', 'metrics'] as const
export type Leaks = Record<(typeof LEAK_KINDS)[number], number>

export interface PointResult extends PointOutcome<keyof Leaks> {
  point: KillPoint
  /** The last step the killed run announced, and the call held when it was killed (call points). */
  step: string
  held?: string
  /** Finished Async.* tasks the killed run left: XAPI destroys them 65 min after they end. */
  finishedAsyncTasks: number
  rerunMs: number
  ms: number
}

export type SoakFigures = Totals<keyof Leaks, PointResult> & { scenario: ScenarioName }

interface World {
  scenario: Scenario
  /** The command's arguments after the binary (recipe, image, options), without --host. */
  command: string[]
  sim: Simulator
  env: Record<string, string>
  dataDisks: Map<string, string>
  before: Record<string, Set<string>>
}

async function buildWorld(scenario: Scenario, command: string[]): Promise<World> {
  const NAME = scenario.vmName
  const sim = await startSimulator({ profile: scenario.profile })
  const env = { XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password }
  const x = await connect({ url: sim.url, ...sim.credentials })
  const dataDisks = new Map<string, string>()
  try {
    dataDisks.set(await addDataDisk(x, sim, 'user data'), 'a user disk')
    // What provision leaves of a VM destroyed by hand (xe vm-destroy keeps its disk): finished, marked for its name.
    dataDisks.set(await addDataDisk(x, sim, `${NAME}-vdi`, { 'xcp-provision:vm': NAME }), 'the disk of a VM of that name destroyed by hand')
  } finally {
    await x.close()
  }
  const before = refsNow(sim)
  return { scenario, command, sim, env, dataDisks, before }
}

/** The killed run prints its step titles (no --json); the re-run answers in JSON. */
function args(w: World, json = true): string[] {
  return [BIN, ...w.command, '--host', w.sim.url, ...(json ? ['--json'] : [])]
}

const runCli = (w: World): ReturnType<typeof runBin> => runBin(args(w).slice(1), w.env)

/**
 * The calls and wall time of a clean run: where kill points are drawn from. Delays are
 * drawn from its first XAPI call on: before it, the process is only starting Node.
 */
async function calibrate(scenario: Scenario, command: string[]): Promise<{ calls: string[]; firstCallMs: number; ms: number }> {
  const w = await buildWorld(scenario, command)
  try {
    const from = w.sim.calls().length
    const t0 = Date.now()
    let firstCallMs = 0
    const watch = setInterval(() => void (firstCallMs ||= w.sim.calls().length > from ? Date.now() - t0 : 0), 5)
    const r = await runCli(w).finally(() => clearInterval(watch))
    if (r.code !== 0) throw new Error(`calibrating: the clean run failed: ${r.stderr}`)
    return { calls: w.sim.calls().slice(from), firstCallMs, ms: Date.now() - t0 }
  } finally {
    await w.sim.close()
  }
}

/** Kills the run at the point; true when it was killed before it ended. Resolves once the process is gone. */
async function killAt(w: World, point: KillPoint): Promise<{ killed: boolean; step: string; held?: string; released: Promise<void> }> {
  const hold = point.kind === 'call' ? w.sim.faults.hold('*', { nth: point.nth }) : undefined
  const child = spawn(process.execPath, args(w, false), { env: { PATH: process.env.PATH ?? '', ...w.env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  let held: string | undefined
  // The held call is the newest in the log: calls are logged before faults apply.
  const trigger = hold ? hold.reached.then(() => ((held = w.sim.calls().at(-1)), true)) : sleep(point.kind === 'delay' ? point.ms : 0).then(() => true)
  const reached = await Promise.race([trigger, closed.then(() => false)])
  if (reached) child.kill('SIGKILL')
  await closed
  const killed = reached && child.signalCode === 'SIGKILL'
  // The host finishes the held call a little later, while the re-run starts.
  const released = hold ? sleep(point.kind === 'call' ? point.holdMs : 0).then(() => hold.release()) : Promise.resolve()
  const steps = [...stderr.matchAll(/^(\S[^\n]*)…$/gm)].map((m) => m[1]!)
  return { killed, step: steps.at(-1) ?? '(before the first step)', ...(held ? { held } : {}), released }
}

/** --json puts the error on stdout; a crash before that leaves it on stderr. */
function firstError(r: { stdout: string; stderr: string }): string {
  try {
    const e = (JSON.parse(r.stdout) as { error?: { what?: string; why?: string } }).error
    if (e) return `${e.what ?? ''}: ${e.why ?? ''}`
  } catch {
    // not JSON: see stderr
  }
  return r.stderr
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 3)
    .join(' | ')
}

type Rec = Record<string, unknown> & { other_config: Record<string, string> }

/** What the world holds beside exactly one VM of the name with its VDI, VBD and VIF; and the data disks gone. */
export function audit(w: World): { problems: string[]; leaks: Leaks; dataDisksRemoved: number; finishedAsyncTasks: number } {
  const NAME = w.scenario.vmName
  const o = w.sim.objects()
  const mine = (cls: string): [string, Rec][] => Object.entries(o[cls] ?? {}).filter(([ref]) => !w.before[cls]?.has(ref)) as [string, Rec][]
  const problems: string[] = []
  const vms = mine('VM').filter(([, v]) => !v.is_a_template)
  const named = vms.filter(([, v]) => v.name_label === NAME)
  if (named.length !== 1) problems.push(`${named.length} VMs named ${NAME}`)
  for (const [, v] of named) if (v.power_state !== 'Running') problems.push(`${NAME} is ${String(v.power_state)}`)
  const own = named[0]?.[1]
  const ownVbds = new Set((own?.VBDs as string[] | undefined) ?? [])
  const ownVifs = new Set((own?.VIFs as string[] | undefined) ?? [])
  const ownDisks = new Set(
    mine('VBD')
      .filter(([ref]) => ownVbds.has(ref))
      .map(([, b]) => String(b.VDI)),
  )
  const disks = 1 + w.scenario.drives
  if (ownVbds.size !== disks || ownVifs.size !== 1 || ownDisks.size !== disks) problems.push(`the VM has ${ownVbds.size} VBDs, ${ownVifs.size} VIFs, ${ownDisks.size} disks`)
  const tasks = Object.values(o.task ?? {})
  const pool = Object.values(o.pool ?? {})[0] as Rec | undefined
  const leaks: Leaks = {
    vm: vms.length - named.length + vms.filter(([, v]) => String(v.name_label).endsWith(SUFFIX)).length,
    vdi: mine('VDI').filter(([ref]) => !ownDisks.has(ref)).length,
    vbd: mine('VBD').filter(([ref]) => !ownVbds.has(ref)).length,
    vif: mine('VIF').filter(([ref]) => !ownVifs.has(ref)).length,
    task: tasks.filter((t) => t.status === 'pending' || String(t.name_label).startsWith('xcp-provision:')).length,
    claim: Object.keys(pool?.other_config ?? {}).filter((k) => k.startsWith('xcp-provision:claim:')).length,
    // Guest metrics of no VM (an unfinished guest that had reported, removed without them).
    metrics: mine('VM_guest_metrics').filter(([ref]) => ref !== own?.guest_metrics).length,
  }
  const dataDisksRemoved = removedDisks(w.sim, w.dataDisks, problems)
  for (const [cls, n] of Object.entries(leaks)) if (n) problems.push(`${n} ${cls} leaked`)
  const finishedAsyncTasks = tasks.filter((t) => t.status !== 'pending' && String(t.name_label).startsWith('Async.')).length
  return { problems, leaks, dataDisksRemoved, finishedAsyncTasks }
}

async function runPoint(point: KillPoint, scenario: Scenario, command: string[]): Promise<PointResult> {
  const t0 = Date.now()
  const w = await buildWorld(scenario, command)
  try {
    const k = await killAt(w, point)
    const r0 = Date.now()
    const again = await runCli(w)
    const rerunMs = Date.now() - r0
    await k.released
    // The re-run saw the first run finish (a kill after the rename): it refuses to make a second VM.
    const finishedFirst = again.code === 1 && again.stdout.includes('already exists')
    const problems: string[] = []
    if (again.code !== 0 && !finishedFirst) problems.push(`re-run exited ${again.code}: ${firstError(again)}`)
    const a = audit(w)
    problems.push(...a.problems)
    return {
      point,
      killed: k.killed,
      step: k.step,
      ...(k.held ? { held: k.held } : {}),
      converged: problems.length === 0,
      problems,
      leaks: a.leaks,
      dataDisksRemoved: a.dataDisksRemoved,
      finishedAsyncTasks: a.finishedAsyncTasks,
      rerunMs,
      ms: Date.now() - t0,
    }
  } finally {
    w.sim.faults.clear()
    await w.sim.close()
  }
}

/** `points` kill points drawn from `seed`, half at a call of a clean run, half at a time during one. */
export async function soakProvision(o: { seed: number; points: number; scenario?: ScenarioName; onPoint?: (r: PointResult, i: number) => void }): Promise<SoakFigures> {
  const t0 = Date.now()
  const scenario = SCENARIOS[o.scenario ?? 'pv']
  const dir = await mkdtemp(join(tmpdir(), 'soak-provision-'))
  try {
    const command = await scenario.prepare(dir)
    const clean = await calibrate(scenario, command)
    const f = await drive({
      seed: o.seed,
      points: o.points,
      leakKinds: LEAK_KINDS,
      onPoint: o.onPoint,
      draw(rand): KillPoint {
        const nth = 1 + Math.floor(rand() * clean.calls.length)
        return rand() < 0.5 ? { kind: 'call', nth, holdMs: Math.floor(rand() * 300) } : { kind: 'delay', ms: clean.firstCallMs + Math.floor(rand() * (clean.ms - clean.firstCallMs)) }
      },
      run: (point) => runPoint(point, scenario, command),
    })
    // The wall time counts the preparation and the calibration too, as it always did.
    return { ...f, scenario: scenario.name, wallMs: Date.now() - t0 }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const describe = (r: PointResult): string => (r.point.kind === 'call' ? `call #${r.point.nth} ${r.held ?? ''}, held ${r.point.holdMs} ms` : `after ${r.point.ms} ms`)

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const points = Number(process.argv[2] ?? 50)
  const seed = Number(process.argv[3] ?? 14)
  const scenario = (process.argv[4] ?? 'pv') as ScenarioName
  if (!(scenario in SCENARIOS)) throw new Error(`scenario ${scenario}: use ${Object.keys(SCENARIOS).join(' or ')}`)
  console.log(headline(`soak-provision: ${scenario}, ${points} kill points, seed ${seed}`))
  const f = await soakProvision({
    seed,
    points,
    scenario,
    onPoint: (r, i) =>
      console.log(
        `  ${String(i).padStart(2)}. ${describe(r).padEnd(44)} in "${r.step}"`.padEnd(100) +
          `${r.converged ? 'converged' : `NOT converged: ${r.problems.join('; ')}`} (re-run ${(r.rerunMs / 1000).toFixed(1)} s)`,
      ),
  })
  const reruns = f.results.map((r) => r.rerunMs).sort((a, b) => a - b)
  const q = (p: number): string => ((reruns[Math.min(reruns.length - 1, Math.floor(p * reruns.length))] ?? 0) / 1000).toFixed(1)
  const steps = new Map<string, number>()
  for (const r of f.results) steps.set(r.step, (steps.get(r.step) ?? 0) + 1)
  console.log(`kills by step: ${[...steps].map(([s, n]) => `${s} ${n}`).join(', ')}`)
  console.log(`re-run wall time: median ${q(0.5)} s, p95 ${q(0.95)} s, max ${q(1)} s; finished Async.* tasks left for XAPI's GC: ${f.results.reduce((n, r) => n + r.finishedAsyncTasks, 0)}`)
  const { line, exitCode } = summary(f)
  console.log(line)
  process.exitCode = exitCode
}
