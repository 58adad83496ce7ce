import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { provision } from '../../src/provision/run.js'
import { parseProbe, type Probe } from '../../src/wait/probes.js'
import { writeSampleHvmImage, writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_HVM, SMALL_PV } from '../support/sample-images.js'
import type { ProvisionEvent, ProvisionOptions } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'

/**
 * --dry-run prints, per step, the calls the step would make (each step's calls()); a real
 * run makes calls. Nothing else ties the two together, so this compares them: the plan
 * of a dry run against the calls the simulator received during each step of a real run
 * of the same recipe on the same pool, for a PV guest, an HVM guest and an HVM guest with
 * a cloud-init drive and --wait.
 *
 * Normalised to method names: arguments, refs and prose are dropped from the
 * descriptions, and the calls a connection makes for every async call (event.from on the
 * task, task.destroy after it) are not part of any step's plan. A described call whose
 * line says it depends on the pool ("if present", "when pinned", "on a 302") may be
 * missing from the run; every other described call must be made, and every call made
 * must be described.
 */

let dir: string
let pvImage: string
let hvmImage: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dry-run-matches-'))
  pvImage = join(dir, 'pv.img')
  await writeSampleImage(pvImage, { diskSize: SMALL_PV })
  hvmImage = join(dir, 'hvm.img')
  await writeSampleHvmImage(hvmImage, { firmware: 'uefi', diskSize: SMALL_HVM })
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const UEFI = `name: dm
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 1GiB, dynamic_min: 1GiB, dynamic_max: 1GiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
other_config: { owner: tests }
`
const HVM = `${UEFI}xenstore: { vm-data/role: web }
`
const CLOUD_INIT = `${UEFI}cloud_init: { remove_after: ready }
`

/** RPC methods (Async. kept) and raw HTTP endpoints named in a text. */
const NAMED = /\b(?:Async\.)?(?:VM|VDI|VBD|VIF|SR|PBD|host|pool|network|task|event|session)\.[A-Za-z_]+\b|\b(?:PUT|GET) \/[a-z_]+/g
/** Where a description says a call depends on what the pool holds: "(if present)", "(… on a 302: …)". */
const CONDITIONAL = /(?=\([^)]*\b(?:if present|when|on a 302|unless)\b)/
/** The plumbing of every async call and task wait (xapi/task-wait.ts), in no step's plan. */
const PLUMBING = new Set(['event.from', 'task.destroy', 'task.get_record'])

interface Plan {
  required: Set<string>
  optional: Set<string>
}

function planOf(lines: readonly string[]): Plan {
  const plan: Plan = { required: new Set(), optional: new Set() }
  for (const line of lines) {
    // Before a conditional parenthesis: made ("A / B": both), unless the parenthesis is "(if present)".
    const [main = '', ...rest] = line.split(CONDITIONAL)
    for (const m of main.matchAll(NAMED)) (/\(if present\)/.test(line) ? plan.optional : plan.required).add(m[0])
    for (const r of rest) for (const m of r.matchAll(NAMED)) plan.optional.add(m[0])
  }
  for (const p of PLUMBING) plan.required.delete(p), plan.optional.add(p)
  return plan
}

interface Observed {
  rpc: string[]
  http: string[]
}

/** A real run, with the simulator's calls cut at each step's start and end events. */
async function realRun(sim: Simulator, o: ProvisionOptions): Promise<Map<string, Observed>> {
  const byStep = new Map<string, Observed>()
  let open: { step: string; rpc: number; http: number } | undefined
  const onEvent = (e: ProvisionEvent): void => {
    if (e.type === 'step') open = { step: e.step, rpc: sim.calls().length, http: sim.transfers().length }
    if (e.type === 'step-done' && open) {
      byStep.set(open.step, {
        rpc: sim.calls().slice(open.rpc),
        http: sim
          .transfers()
          .slice(open.http)
          .map((t) => `${t.method} ${t.path.split('?')[0]}`),
      })
      open = undefined
    }
  }
  const r = await provision({ ...o, onEvent })
  expect('dry_run' in r).toBe(false)
  return byStep
}

async function compare(sim: Simulator, o: ProvisionOptions): Promise<{ step: string; undescribed: string[]; notMade: string[] }[]> {
  const dry = await provision({ ...o, dryRun: true })
  if ('existing' in dry) throw new Error('the VM already exists')
  const planned = new Map<string, string[]>()
  for (const c of dry.calls) planned.set(c.step, [...(planned.get(c.step) ?? []), c.call])
  const real = await realRun(sim, o)
  const out: { step: string; undescribed: string[]; notMade: string[] }[] = []
  for (const step of new Set([...planned.keys(), ...real.keys()])) {
    const plan = planOf(planned.get(step) ?? [])
    const seen = real.get(step) ?? { rpc: [], http: [] }
    const made = new Set([...seen.rpc, ...seen.http])
    const undescribed = [...made].filter((m) => !plan.required.has(m) && !plan.optional.has(m))
    const notMade = [...plan.required].filter((m) => !made.has(m))
    out.push({ step, undescribed, notMade })
  }
  return out
}

async function options(sim: Simulator, recipeText: string, image: string, extra: Partial<ProvisionOptions> = {}): Promise<ProvisionOptions> {
  const file = join(dir, `r-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(file, recipeText)
  const { recipe } = await loadRecipe(file)
  return { recipe, image, url: sim.url, ...sim.credentials, upload: { segmentBytes: 1024 * 1024, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }, ...extra }
}

const probes = (...texts: string[]): Probe[] => texts.map((t) => parseProbe(t) as Probe)

describe("--dry-run's call list is the calls a real run makes", () => {
  it('a PV guest (the HOWTO), with --verify', async () => {
    const sim = await withSimulator()
    const { recipe } = await loadRecipe('freebsd-9')
    const diff = await compare(sim, {
      recipe,
      image: pvImage,
      url: sim.url,
      ...sim.credentials,
      verify: true,
      upload: { segmentBytes: 1024 * 1024, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } },
    })
    expect(diff.filter((d) => d.undescribed.length || d.notMade.length)).toEqual([])
  })

  it('an HVM guest with other-config and xenstore keys', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const diff = await compare(sim, await options(sim, HVM, hvmImage))
    expect(diff.filter((d) => d.undescribed.length || d.notMade.length)).toEqual([])
  })

  it('an HVM guest with a cloud-init drive removed once --wait sees it ready', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const diff = await compare(sim, await options(sim, CLOUD_INIT, hvmImage, { wait: { probes: probes('agent'), timeoutMs: 20_000 } }))
    expect(diff.filter((d) => d.undescribed.length || d.notMade.length)).toEqual([])
  })
})
