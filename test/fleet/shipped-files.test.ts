import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { rollout } from '../../src/index.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { loadFleet } from '../../src/fleet/load.js'
import { vmSpecs } from '../../src/fleet/spec.js'
import { fill } from '../../src/cloud-init/template.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { withSimulator } from '../support/simulator.js'
import { findOracle, needs } from '../support/oracles.js'
import { ENV } from './support.js'

/** Every recipe and fleet file the package ships or the docs point to: each must load as it is. */
const inDir = (dir: string, keep: (f: string) => boolean): string[] =>
  readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f) && keep(f))
    .map((f) => join(dir, f))
const RECIPES = inDir('recipes', (f) => !f.startsWith('fleet'))
const SHIPPED_FLEETS = inDir('recipes', (f) => f.startsWith('fleet'))
const FLEETS = [...SHIPPED_FLEETS, ...inDir('docs/examples', (f) => f.startsWith('fleet'))]

let dir: string
let image: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-shipped-'))
  image = join(dir, 'uefi.img')
  // Carries guest tools, and the simulated guest runs the user data's xenstore-write lines.
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the shipped recipes and fleet files', () => {
  it('each loads: every recipe in recipes/, every fleet file in recipes/ and docs/examples/', async () => {
    expect(RECIPES.length).toBeGreaterThanOrEqual(4)
    expect(SHIPPED_FLEETS).toEqual(expect.arrayContaining(['recipes/fleet-web.yaml', 'recipes/fleet-cloud-init.yaml']))
    for (const f of RECIPES) expect((await loadRecipe(f)).recipe.name, f).toBeTruthy()
    for (const f of FLEETS) expect(vmSpecs(await loadFleet(f)).length, f).toBeGreaterThan(0)
  })

  it('the fleets in recipes/ are modern: HVM, none PV, which XCP-ng 8.3 does not run', async () => {
    for (const f of SHIPPED_FLEETS) for (const s of vmSpecs(await loadFleet(f))) expect(s.recipe.boot.mode, `${f}: ${s.name}`).toBe('hvm')
  })

  it('recipes/fleet-cloud-init.yaml rolls out on XCP-ng 8.3 with --canary --wave 4: the canary alone, then 4 at a time, distinct addresses, each VM ready by its vm-data key', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3', guestBootMs: 20 })
    // The file as shipped, with its pool pointed at the simulator and its image at a sample one.
    const f = parse(readFileSync('recipes/fleet-cloud-init.yaml', 'utf8')) as FleetInput
    f.pools = { lab: { ...f.pools.lab!, url: sim.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' } }
    f.groups = f.groups.map((g) => ({ ...g, image }))
    const file = join(dir, 'fleet-cloud-init.yaml')
    await writeFile(file, stringify(f))
    const r = await rollout({ fleet: file, env: ENV, canary: true, wave: 4 })
    expect(r.ok).toBe(true)
    expect(r.waves.map((w) => [w.vms.length, w.state])).toEqual([
      [1, 'ready'],
      [4, 'ready'],
      [4, 'ready'],
    ])
    expect(r.waves[0]!.vms).toEqual(['app-01'])
    const addresses = r.vms.map((v) => v.address)
    expect(new Set(addresses).size).toBe(9)
    expect(addresses[0]).toBe('10.0.5.10')
    expect(r.vms.map((v) => [v.state, v.ready?.probes])).toEqual(r.vms.map(() => ['created', ['vm-data:ready=1']]))
    // remove_after: ready: no drive is left attached.
    const vdis = Object.values(sim.objects().VDI ?? {}) as { name_label: string }[]
    expect(vdis.filter((v) => v.name_label.endsWith('-cidata'))).toEqual([])
  })
})

const cloudInit = needs('cloud-init')
cloudInit.describe('the example fleet, judged by cloud-init', () => {
  cloudInit.it("recipes/fleet-cloud-init.yaml's user data, templated for a VM, is valid cloud-config", async () => {
    const spec = vmSpecs(await loadFleet('recipes/fleet-cloud-init.yaml'))[0]!
    const text = fill(spec.recipe.cloud_init!.user_data!, { name: spec.name, index: 0, mac: '00:16:3e:00:00:01', ip: '10.0.5.10' }, 'user_data')
    const file = join(dir, 'user-data')
    await writeFile(file, text)
    expect(execFileSync(findOracle('cloud-init')!, ['schema', '--config-file', file], { encoding: 'utf8' })).toContain('Valid cloud-config')
  })
})
