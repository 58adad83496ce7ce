import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectTo, withSimulator } from '../support/simulator.js'
import { provision } from '../../src/provision/run.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { rollout } from '../../src/index.js'
import { setCallTrace } from '../../src/xapi/call-trace.js'
import { buildingName } from '../../src/provision/marks.js'
import type { Recipe } from '../../src/recipe/schema.js'
import type { ProvisionEvent } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'
import { syntheticImage, UPLOAD } from './support.js'
import { tempDir } from '../upload/helpers.js'
import { ENV, fleetOn, hosts } from '../fleet/support.js'

/**
 * The lookups before a provision's first change read each thing once and pass it on
 * (recipe → plan → calls): every VDI once for the leftovers, the existing VM's disks and
 * the unfinished uploads; the VMs of the name once for the existing-VM check and the
 * name check; the pool only at the login (connection.ts). Each XAPI call costs a round
 * trip and the xen-api client's XML parsing, in every run. A read is made again only
 * where the run itself changed what it read (leftovers removed).
 *
 * Calls are told apart by method and arguments (the trace the CLI's --verbose uses).
 */

interface Call {
  method: string
  args: string
}

let calls: Call[] = []
afterEach(() => setCallTrace(undefined))
const trace = (): void => {
  calls = []
  setCallTrace((c) => calls.push({ method: c.method, args: c.args.join(', ') }))
}

const isRead = (m: string): boolean => /^[A-Za-z_]+\.get_/.test(m)
/** Reads made more than once, as "method(args) ×n". */
function repeats(list: readonly Call[]): string[] {
  const n = new Map<string, number>()
  for (const c of list.filter((c) => isRead(c.method))) n.set(`${c.method}(${c.args})`, (n.get(`${c.method}(${c.args})`) ?? 0) + 1)
  return [...n].filter(([, k]) => k > 1).map(([c, k]) => `${c} ×${k}`)
}

/** A real provision in-process; returns the calls made before its first step. */
async function lookups(sim: Simulator, recipe: Recipe, image: string): Promise<Call[]> {
  let firstStep: number | undefined
  const onEvent = (e: ProvisionEvent): void => {
    if (e.type === 'step') firstStep ??= calls.length
  }
  trace()
  const r = await provision({ recipe: { ...recipe, start: false }, image, url: sim.url, ...sim.credentials, skipPreflight: true, upload: UPLOAD, onEvent })
  expect('dry_run' in r).toBe(false)
  return calls.slice(0, firstStep)
}

describe('a provision reads what it needs once before its first change', () => {
  it('PV (freebsd-9): no read repeated, the pool not read again after the login', async () => {
    const sim = await withSimulator()
    const { recipe } = await loadRecipe('freebsd-9')
    const before = await lookups(sim, recipe, await syntheticImage(41))
    expect(repeats(before)).toEqual([])
    // The login's session.login_with_password and pool.get_all_records are the client's.
    expect(before.filter((c) => c.method.startsWith('pool.get_all'))).toHaveLength(1)
    expect(before.filter((c) => c.method === 'VDI.get_all_records')).toHaveLength(1)
  })

  it('HVM (freebsd-14 on XCP-ng 8.3) with a config drive: no read repeated', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const { recipe: hvm } = await loadRecipe('freebsd-14')
    const file = join(await tempDir(), 'drive.json')
    await writeFile(file, JSON.stringify({ ...hvm, cloud_init: {} }))
    const { recipe } = await loadRecipe(file)
    expect(recipe.cloud_init).toBeDefined()
    const before = await lookups(sim, recipe, await syntheticImage(42))
    expect(repeats(before)).toEqual([])
    expect(before.filter((c) => c.method.startsWith('pool.get_all'))).toHaveLength(1)
  })

  it('after removing what a killed run left, the VDIs are read again (the removal changed them), nothing else', async () => {
    const sim = await withSimulator()
    const { recipe } = await loadRecipe('freebsd-9')
    // A VM under the building name: what a run killed before vm.finish leaves.
    const x = await connectTo(sim)
    await x.callAsync('VM.clone', sim.inventory.template, buildingName(recipe.name))
    const before = await lookups(sim, recipe, await syntheticImage(43))
    expect(before.some((c) => c.method === 'VM.destroy')).toBe(true)
    expect(repeats(before)).toEqual(['VDI.get_all_records(<redacted>) ×2'])
    const destroyed = before.findIndex((c) => c.method === 'VM.destroy')
    expect(before.findIndex((c) => c.method === 'VDI.get_all_records')).toBeLessThan(destroyed)
    expect(before.findLastIndex((c) => c.method === 'VDI.get_all_records')).toBeGreaterThan(destroyed)
  })
})

describe('a fleet rollout reads each pool once', () => {
  it('2 VMs: the inventory and the hosts report share their records', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{01..02}')
    trace()
    const r = await rollout({ fleet, env: ENV })
    expect(r.ok).toBe(true)
    const first = calls.findIndex((c) => !isRead(c.method) && !c.method.startsWith('session.') && c.method !== 'system.listMethods')
    expect(repeats(calls.slice(0, first))).toEqual([])
    expect(calls.filter((c) => c.method === 'pool.get_all_records')).toHaveLength(1)
  })
})
