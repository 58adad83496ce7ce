import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadFleet } from '../../src/fleet/load.js'
import { vmSpecs } from '../../src/fleet/spec.js'
import { fleetJsonSchema } from '../../src/fleet/write-json-schema.js'
import { UserError } from '../../src/errors.js'

const MiB = 1024 * 1024

async function fleetFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'fleet-schema-')), 'fleet.yaml')
  await writeFile(file, text)
  return file
}

const POOLS = 'pools:\n  lab: {url: "https://xcp1.example/", user_env: LAB_USER, password_env: LAB_PASSWORD}\n'

describe('fleet file', () => {
  it('loads a PV fleet file and applies group defaults and per-VM overrides (PV-args too) over the recipe', async () => {
    // A PV fleet of the HOWTO's recipe; the shipped examples are HVM (shipped-files.test.ts).
    const f = await loadFleet('test/fleet/fixtures/fleet-pv.yaml')
    const specs = vmSpecs(f)
    expect(specs.map((s) => s.name)).toHaveLength(22)
    const byName = new Map(specs.map((s) => [s.name, s]))
    const web01 = byName.get('web-01')!
    expect(web01.recipe.memory).toEqual({ static_min: 128 * MiB, static_max: 512 * MiB, dynamic_min: 512 * MiB, dynamic_max: 512 * MiB })
    expect(web01.recipe.vcpus).toBe(2)
    expect(web01.groupRecipe.vcpus).toBe(1)
    expect(web01.recipe.pv.args).toBe('vfs.root.mountfrom=ufs:/dev/xbd0s1a -v')
    expect(byName.get('web-02')!.recipe.network.mac).toBe('00:16:3e:00:10:02')
    expect(byName.get('web-03')!.recipe.network.mac).toBe('derived')
    const db = byName.get('db-a')!
    expect([db.recipe.vcpus, db.recipe.network.bridge, db.recipe.sr, db.hosts, db.pools]).toEqual([4, 'xenbr1', { name_label: 'Shared NFS' }, ['xcp-prod-1', 'xcp-prod-2'], ['prod']])
    // The shared recipe object is not changed by the overrides.
    expect(f.groups[0]!.recipe.vcpus).toBe(1)
  })

  it('names the file, the field and the reason for a bad field', async () => {
    const file = await fleetFile(`name: web\n${POOLS}groups:\n  - {recipe: freebsd-9, pools: [lab], names: "web-{1..2}", defaults: {memory: 1GB}}\n`)
    const err = (await loadFleet(file).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.what).toContain(file)
    expect(err.info.why).toBe('groups.0.defaults.memory: unknown unit "GB" in "1GB" (did you mean GiB?); use B, KiB, MiB, GiB or TiB')
    expect(err.info.exitCode).toBe(3)
    const pool = await fleetFile(`name: web\n${POOLS}groups:\n  - {recipe: freebsd-9, pools: [nope], names: "web-{1..2}"}\n`)
    expect(((await loadFleet(pool).catch((e: unknown) => e)) as UserError).info.why).toBe('groups.0.pools: unknown pool "nope" (pools: lab)')
  })

  it('refuses credentials in the file: env names only, no user:password in URLs', async () => {
    const file = await fleetFile('name: web\npools:\n  lab: {url: "https://root:secret@xcp1/", password_env: "hunter2!"}\ngroups: [{recipe: freebsd-9, pools: lab, names: a}]\n')
    const err = (await loadFleet(file).catch((e: unknown) => e)) as UserError
    expect(err.info.why).toContain('pools.lab.url: must not contain credentials')
    expect(err.info.why).toContain('pools.lab.password_env: must be the NAME of an environment variable')
  })

  it('refuses overrides for VMs the group does not have and names used twice', async () => {
    const typo = await fleetFile(`name: web\n${POOLS}groups:\n  - {recipe: freebsd-9, pools: lab, names: "web-{01..03}", overrides: {web-3: {vcpus: 2}}}\n`)
    expect(((await loadFleet(typo).catch((e: unknown) => e)) as UserError).info.why).toBe('unknown: web-3')
    const twice = await fleetFile(`name: web\n${POOLS}groups:\n  - {recipe: freebsd-9, pools: lab, names: "web-{1..3}"}\n  - {recipe: freebsd-9, pools: lab, names: [web-2]}\n`)
    expect(((await loadFleet(twice).catch((e: unknown) => e)) as UserError).info.what).toContain('VM "web-2" is in groups 0 and 1')
  })

  it('publishes an up-to-date JSON Schema (npm run schema regenerates it)', () => {
    const committed = JSON.parse(readFileSync('schema/fleet.schema.json', 'utf8')) as unknown
    expect(committed).toEqual(JSON.parse(JSON.stringify(fleetJsonSchema())))
  })
})
