/**
 * kill -9 soak for fleet rollouts (issue 14): at seeded random points, `provision rollout`
 * (the built CLI, a real process) is killed outright while the simulator holds one of its
 * calls, the held call is let go (the host finishes what it was doing, as a real one
 * would), and the same command is run again. Every re-run must converge: exit 0, exactly
 * the fleet's VMs (each once, running, under its real name), and nothing leaked (VM or
 * template under the temporary name, VDI, VBD, VIF, pending or xcp-provision task), and
 * no data disk removed (a user's disk, and the disk of a fleet VM destroyed by hand).
 *
 *   npm run soak:fleet [-- POINTS [SEED]]     (default 24 points, seed 14)
 *
 * A *kill point* here is a call (method, nth) at which the run is killed; the draw, the
 * totals and the words shared with bench/soak-provision.ts are in bench/soak/driver.ts.
 * test/fleet/soak.test.ts runs one point of it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { stringify } from 'yaml'
import { startSimulator, type Simulator } from '../mocks/simulator.js'
import { PoolSpec } from '../mocks/inventory-file.js'
import { writeSampleImage } from '../src/image/write-image.js'
import { connect } from '../src/xapi/connection.js'
import { rollout } from '../src/fleet/rollout.js'
import { RolloutResult } from '../src/fleet/types.js'
import type { FleetInput } from '../src/fleet/schema.js'
import { addDataDisk, BIN, drive, headline, refsNow, removedDisks, runCli, summary, SUFFIX, type PointOutcome, type Totals } from './soak/driver.js'

const ENV = { SOAK_USER: 'root', SOAK_PASSWORD: 'simulator' }

export interface KillPoint {
  /** The world the rollout runs in (see buildWorld). */
  world: WorldKind
  /** The call the run is killed at: the simulator holds its `nth` occurrence (Async.* included) and the process dies meanwhile. */
  method: string
  nth: number
}

const LEAK_KINDS = ['vm', 'template', 'vdi', 'vbd', 'vif', 'task'] as const
export type Leaks = Record<(typeof LEAK_KINDS)[number], number>

export interface PointResult extends PointOutcome<keyof Leaks> {
  point: KillPoint
  ms: number
}

export type SoakFigures = Totals<keyof Leaks, PointResult>

/**
 * - fresh: one standalone host, five VMs, nothing there yet.
 * - grown: two of the five were made by an earlier rollout.
 * - hand-destroyed: as grown, then one of those two was destroyed by hand (`xe vm-destroy`
 *   keeps its disk): that disk is a data disk the soak checks is never removed.
 * - pool: a pool of two hosts, each with its own Local storage, so two bases.
 */
export const WORLDS = ['fresh', 'grown', 'hand-destroyed', 'pool'] as const
export type WorldKind = (typeof WORLDS)[number]

interface World {
  sim: Simulator
  file: string
  fleet: FleetInput
  names: string[]
  /** VDIs that must survive every run: uuid → what it is. */
  dataDisks: Map<string, string>
  /** Refs of every object there before any rollout (the host's own). */
  before: Record<string, Set<string>>
}

const NAMES = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5']

async function buildWorld(kind: WorldKind, dir: string, image: string): Promise<World> {
  // XCP-ng 8.2: the sample image is a PV guest, and the simulator's default release (8.3) runs none.
  const sim = await startSimulator({ profile: 'xcp-ng-8.2', ...(kind === 'pool' ? { pool: PoolSpec.parse({ hosts: [{ name: 'xcp1' }, { name: 'xcp2', address: '127.0.0.2' }] }) } : {}) })
  const before = refsNow(sim)
  const fleet = (names: string[]): FleetInput => ({
    name: 'web',
    pools: { p1: { url: sim.url, user_env: 'SOAK_USER', password_env: 'SOAK_PASSWORD' } },
    groups: [{ recipe: 'freebsd-9', image, pools: ['p1'], names }],
  })
  const dataDisks = new Map<string, string>()
  const x = await connect({ url: sim.url, ...sim.credentials })
  try {
    // A user's own disk on the same SR: nothing of a rollout's.
    dataDisks.set(await addDataDisk(x, sim, 'user data'), 'a user disk')
    if (kind === 'grown' || kind === 'hand-destroyed') {
      const r = await rollout({ fleet: fleet(NAMES.slice(0, 2)), env: ENV })
      if (!r.ok) throw new Error(`setting up "${kind}": the first rollout failed`)
    }
    if (kind === 'hand-destroyed') {
      const [ref, vm] = Object.entries(sim.objects().VM!).find(([, v]) => v.name_label === NAMES[0])!
      const disk = String(sim.objects().VBD![String((vm.VBDs as string[])[0])]!.VDI)
      await x.callAsync('VM.hard_shutdown', ref)
      await x.call('VM.destroy', ref)
      dataDisks.set(String(sim.objects().VDI![disk]!.uuid), `the disk of ${NAMES[0]}, destroyed by hand`)
    }
  } finally {
    await x.close()
  }
  const file = join(dir, `fleet-${kind}.yaml`)
  await writeFile(file, stringify(fleet(NAMES)))
  return { sim, file, fleet: fleet(NAMES), names: NAMES, dataDisks, before }
}

const isWrite = (m: string): boolean => !/^(session\.|system\.listMethods$|event\.from$|[A-Za-z_]+\.get_)/.test(m)
const bare = (m: string): string => m.replace(/^Async\./, '')

/** The write calls a clean rollout makes in this world, in order: where kill points are drawn from. */
async function calibrate(kind: WorldKind, dir: string, image: string): Promise<string[]> {
  const w = await buildWorld(kind, dir, image)
  try {
    const from = w.sim.calls().length
    const r = await rollout({ fleet: w.fleet, env: ENV })
    if (!r.ok) throw new Error(`calibrating "${kind}": the rollout failed`)
    return w.sim.calls().slice(from).filter(isWrite)
  } finally {
    await w.sim.close()
  }
}

/**
 * Starts `provision rollout <file>` and SIGKILLs it while the simulator holds the point's
 * call; then lets the call go and waits for the host to be idle. False when the run ended first.
 */
export async function killAt(sim: Simulator, file: string, method: string, nth: number, env: Record<string, string> = ENV): Promise<boolean> {
  const hold = sim.faults.hold(method, { nth })
  const child = spawn(process.execPath, [BIN, 'rollout', file], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' })
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const reached = await Promise.race([hold.reached.then(() => true), closed.then(() => false)])
  if (reached) child.kill('SIGKILL')
  await closed
  hold.release()
  await settle(sim)
  return reached
}

/** Until no task is pending: the released call and what it started (an Async.* task) have finished. */
export async function settle(sim: Simulator): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await sleep(50)
    if (!Object.values(sim.objects().task ?? {}).some((t) => t.status === 'pending' && String(t.name_label).startsWith('Async.'))) return
  }
}

type Rec = Record<string, unknown> & { other_config: Record<string, string> }

/** What the world holds beside exactly the fleet's VMs, their disks, NICs, the bases and the templates; and the data disks gone. */
export function audit(w: { sim: Simulator; names: string[]; dataDisks: Map<string, string>; before: Record<string, Set<string>> }): { problems: string[]; leaks: Leaks; dataDisksRemoved: number } {
  const o = w.sim.objects()
  const mine = (cls: string): [string, Rec][] => Object.entries(o[cls] ?? {}).filter(([ref]) => !w.before[cls]?.has(ref)) as [string, Rec][]
  const problems: string[] = []
  const leaks: Leaks = { vm: 0, template: 0, vdi: 0, vbd: 0, vif: 0, task: 0 }
  const vms = mine('VM').filter(([, v]) => !v.is_a_template)
  const fleetVms = vms.filter(([, v]) => v.other_config['xcp-provision:fleet'] === 'web' && w.names.includes(String(v.name_label)))
  const got = fleetVms.map(([, v]) => String(v.name_label)).sort()
  if (JSON.stringify(got) !== JSON.stringify([...w.names].sort())) problems.push(`VMs ${got.join(',')} instead of ${w.names.join(',')}`)
  for (const [, v] of fleetVms) if (v.power_state !== 'Running') problems.push(`${String(v.name_label)} is ${String(v.power_state)}`)
  leaks.vm = vms.length - fleetVms.length
  const templates = mine('VM').filter(([, v]) => v.is_a_template)
  const golden = templates.filter(([, v]) => v.other_config['xcp-provision:template-sha256'] && !String(v.name_label).endsWith(SUFFIX) && !v.other_config['xcp-provision:vm'])
  if (golden.length !== 1) problems.push(`${golden.length} golden templates`)
  leaks.template = templates.length - golden.length
  const vbds = mine('VBD')
  const ownVbds = new Set(fleetVms.flatMap(([, v]) => v.VBDs as string[]))
  leaks.vbd = vbds.filter(([ref]) => !ownVbds.has(ref)).length
  const ownVifs = new Set(fleetVms.flatMap(([, v]) => v.VIFs as string[]))
  leaks.vif = mine('VIF').filter(([ref]) => !ownVifs.has(ref)).length
  const disks = new Set(vbds.filter(([ref]) => ownVbds.has(ref)).map(([, b]) => String(b.VDI)))
  const dataUuids = new Set(w.dataDisks.keys())
  // One base per SR holding fleet disks; every other VDI must be a fleet VM's disk or a data disk.
  const bases = mine('VDI').filter(([, d]) => d.other_config['xcp-provision:image-sha256'] && !d.other_config['xcp-provision:vm'] && (d.other_config['xcp-provision:base'] ?? d.uuid) === d.uuid)
  const srsUsed = new Set(
    mine('VDI')
      .filter(([ref]) => disks.has(ref))
      .map(([, d]) => String(d.SR)),
  )
  for (const sr of srsUsed) if (bases.filter(([, d]) => d.SR === sr).length !== 1) problems.push(`${bases.filter(([, d]) => d.SR === sr).length} bases on SR ${sr}`)
  leaks.vdi = mine('VDI').filter(([ref, d]) => !disks.has(ref) && !dataUuids.has(String(d.uuid)) && !(bases.some(([b]) => b === ref) && srsUsed.has(String(d.SR)))).length
  const tasks = Object.values(o.task ?? {})
  leaks.task = tasks.filter((t) => t.status === 'pending' || String(t.name_label).startsWith('xcp-provision:')).length
  const dataDisksRemoved = removedDisks(w.sim, w.dataDisks, problems)
  for (const [cls, n] of Object.entries(leaks)) if (n) problems.push(`${n} ${cls} leaked`)
  return { problems, leaks, dataDisksRemoved }
}

async function runPoint(point: KillPoint, dir: string, image: string): Promise<PointResult> {
  const t0 = Date.now()
  const w = await buildWorld(point.world, dir, image)
  try {
    const killed = await killAt(w.sim, w.file, point.method, point.nth)
    const again = await runCli(['rollout', w.file, '--json'], ENV)
    const problems: string[] = []
    if (again.code !== 0) problems.push(`re-run exited ${again.code}: ${again.stderr.split('\n').find((l) => l.trim()) ?? ''}`)
    try {
      const r = RolloutResult.parse(JSON.parse(again.stdout))
      const bad = r.vms.filter((v) => v.state !== 'created' && v.state !== 'unchanged')
      if (bad.length) problems.push(bad.map((v) => `${v.name} ${v.state}: ${v.error?.why ?? ''}`).join('; '))
    } catch {
      problems.push('re-run printed no result')
    }
    const a = audit(w)
    problems.push(...a.problems)
    return { point, killed, converged: problems.length === 0, problems, leaks: a.leaks, dataDisksRemoved: a.dataDisksRemoved, ms: Date.now() - t0 }
  } finally {
    w.sim.faults.clear()
    await w.sim.close()
  }
}

/** `points` kill points drawn from `seed`, each in a world drawn too, at a write call of a clean rollout there. */
export async function soakFleet(o: { seed: number; points: number; onPoint?: (r: PointResult, i: number) => void }): Promise<SoakFigures> {
  const t0 = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'soak-fleet-'))
  try {
    const image = join(dir, 'freebsd.img')
    await writeSampleImage(image)
    const calls = new Map<WorldKind, string[]>()
    const f = await drive({
      seed: o.seed,
      points: o.points,
      leakKinds: LEAK_KINDS,
      onPoint: o.onPoint,
      async draw(rand): Promise<KillPoint> {
        const world = WORLDS[Math.floor(rand() * WORLDS.length)]!
        if (!calls.has(world)) calls.set(world, await calibrate(world, dir, image))
        const seq = calls.get(world)!
        const at = Math.floor(rand() * seq.length)
        const method = bare(seq[at]!)
        return { world, method, nth: seq.slice(0, at + 1).filter((m) => bare(m) === method).length }
      },
      run: (point) => runPoint(point, dir, image),
    })
    // The wall time counts the sample image too, as it always did.
    return { ...f, wallMs: Date.now() - t0 }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const points = Number(process.argv[2] ?? 24)
  const seed = Number(process.argv[3] ?? 14)
  console.log(headline(`soak-fleet: ${points} kill points, seed ${seed}`))
  const f = await soakFleet({
    seed,
    points,
    onPoint: (r, i) =>
      console.log(
        `  ${String(i).padStart(2)}. ${r.point.world.padEnd(14)} kill at ${r.point.method} #${r.point.nth}`.padEnd(62) +
          `${r.converged ? 'converged' : `NOT converged: ${r.problems.join('; ')}`} (${(r.ms / 1000).toFixed(1)} s)`,
      ),
  })
  const { line, exitCode } = summary(f)
  console.log(line)
  process.exitCode = exitCode
}
