/**
 * What the two kill -9 soaks (bench/soak-provision.ts, bench/soak-fleet.ts) share: the
 * seeded draw of kill points with redraws, running the built CLI, the data disks that must
 * survive, the objects a world held before, the leak totals and the figures' last line.
 * Each soak keeps what is its own: its world, how it kills, what it audits.
 *
 * Words: a *kill point* is where a run is killed; a point *converged* when the re-run ended
 * as it should; *leaks* count objects left over, per class; *data disks removed* must be 0.
 */
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import { mulberry32 } from '../../src/image/prng.js'
import { buildingName } from '../../src/provision/leftovers.js'
import { type ProcessResult, runProcess } from '../support/run-process.js'

/** Run from bench/soak/ (vitest, tsx) or dist/bench/soak/ (node): the CLI is bin/provision.js at the package root either way. */
export const ROOT = new URL(import.meta.url.includes('/dist/bench/') ? '../../../' : '../../', import.meta.url)
export const BIN = fileURLToPath(new URL('bin/provision.js', ROOT))
/** The suffix of an unfinished VM or template's temporary name. */
export const SUFFIX = buildingName('')

/** A seeded generator of floats in [0, 1): a seed gives the same points on every machine. */
export function prng(seed: number): () => number {
  const next = mulberry32(seed)
  return () => next() / 4294967296
}

export type CliResult = ProcessResult

/** The built CLI as a real process, with only PATH and `env` in its environment. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
}

/** A 1 MiB user disk on the host's "Local storage" that no run may remove; returns its uuid. */
export async function addDataDisk(x: XapiConnection, sim: Simulator, name_label: string, other_config: Record<string, string> = {}): Promise<string> {
  const sr = Object.entries(sim.objects().SR!).find(([, s]) => s.name_label === 'Local storage')![0]
  const ref = await x.call<string>('VDI.create', {
    name_label,
    name_description: '',
    SR: sr,
    virtual_size: 1024 * 1024,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config,
    xenstore_data: {},
    sm_config: {},
    tags: [],
  })
  return x.call<string>('VDI.get_uuid', ref)
}

/** The refs of every object the simulator holds now, per class: what the soak's audits leave aside. */
export const refsNow = (sim: Simulator): Record<string, Set<string>> => Object.fromEntries(Object.entries(sim.objects()).map(([cls, recs]) => [cls, new Set(Object.keys(recs))]))

/** The data disks (uuid → what) no longer on the host, each as a problem line too. */
export function removedDisks(sim: Simulator, dataDisks: Map<string, string>, problems: string[]): number {
  const present = new Set(Object.values(sim.objects().VDI ?? {}).map((d) => String(d.uuid)))
  const removed = [...dataDisks].filter(([uuid]) => !present.has(uuid))
  for (const [uuid, what] of removed) problems.push(`data disk removed: ${what} (${uuid})`)
  return removed.length
}

/** What every point's result has, whatever the soak. */
export interface PointOutcome<L extends string> {
  /** False when the run finished before the kill (the point is drawn again). */
  killed: boolean
  converged: boolean
  problems: string[]
  leaks: Record<L, number>
  dataDisksRemoved: number
}

export interface Totals<L extends string, R> {
  seed: number
  points: number
  converged: number
  leaks: Record<L, number>
  dataDisksRemoved: number
  /** Points drawn again because the run had finished before the kill came. */
  redrawn: number
  results: R[]
  wallMs: number
}

/**
 * `points` kill points drawn from `seed` by `draw` and run by `run`; a point the run
 * finished before is drawn again, up to four times as many draws again. A time point is
 * drawn within a clean run's wall time, measured once: when the machine gets faster
 * than during that measurement, late points miss (the suite's three-point run once got
 * only 2 kills out of 6 draws at load ~7). `leakKinds` fixes the order of the totals.
 */
export async function drive<P, L extends string, R extends PointOutcome<L>>(o: {
  seed: number
  points: number
  leakKinds: readonly L[]
  draw: (rand: () => number) => Promise<P> | P
  run: (point: P) => Promise<R>
  onPoint?: ((r: R, i: number) => void) | undefined
}): Promise<Totals<L, R>> {
  const t0 = Date.now()
  const rand = prng(o.seed)
  const results: R[] = []
  let redrawn = 0
  for (let drawn = 0; results.length < o.points && drawn < 5 * o.points; drawn++) {
    const r = await o.run(await o.draw(rand))
    if (!r.killed) {
      redrawn++
      continue
    }
    results.push(r)
    o.onPoint?.(r, results.length)
  }
  const leaks = Object.fromEntries(o.leakKinds.map((k) => [k, results.reduce((n, r) => n + r.leaks[k], 0)])) as Record<L, number>
  return {
    seed: o.seed,
    points: results.length,
    converged: results.filter((r) => r.converged).length,
    leaks,
    dataDisksRemoved: results.reduce((n, r) => n + r.dataDisksRemoved, 0),
    redrawn,
    results,
    wallMs: Date.now() - t0,
  }
}

/** The first line: what runs, and on how loaded a machine (figures from a busy one are not comparable). */
export const headline = (what: string): string =>
  `${what}; ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`

/** The last line: the figures, and the exit code a soak ends with (0 only when every point converged and no data disk went). */
export function summary(f: Totals<string, unknown>): { line: string; exitCode: number } {
  const leaked = Object.entries(f.leaks)
    .map(([k, n]) => `${k} ${String(n)}`)
    .join(', ')
  return {
    line: `kill points: ${f.points} (${f.redrawn} drawn again: the run had finished first); converged: ${f.converged}/${f.points}; leaks: ${leaked}; data disks removed: ${f.dataDisksRemoved}; ${(f.wallMs / 1000).toFixed(1)} s`,
    exitCode: f.converged === f.points && f.dataDisksRemoved === 0 ? 0 : 1,
  }
}
