import { describe, expect, it } from 'vitest'
import { provision } from '../../src/provision/run.js'
import { destroy } from '../../src/provision/destroy-run.js'
import { loadRecipe } from '../../src/recipe/load.js'
import type { Recipe } from '../../src/recipe/schema.js'
import type { Simulator } from '../../mocks/simulator.js'
import { withSimulator } from '../support/simulator.js'
import { syntheticImage, UPLOAD } from './support.js'
import { sampleImage } from '../fleet/support.js'

const MiB = 1024 * 1024

/** RPCs that change nothing (logins, reads, event waits) and the name claim on the pool. */
const changes = (sim: Simulator, from: number): string[] =>
  sim
    .calls()
    .slice(from)
    .filter((m) => !/^(session\.|system\.|event\.from$|[A-Za-z_]+\.get_)/.test(m) && !/^pool\.(add_to|remove_from)_other_config$/.test(m))

const guests = (sim: Simulator): [string, Record<string, unknown>][] => Object.entries(sim.objects().VM ?? {}).filter(([, v]) => !v.is_a_template && !v.is_control_domain)

async function setup(start = false): Promise<{ sim: Simulator; image: string; recipe: Recipe; run: (r?: Partial<Recipe>, extra?: Record<string, unknown>) => ReturnType<typeof provision> }> {
  const sim = await withSimulator()
  // A started VM needs an image pygrub boots; a halted one any data.
  const image = start ? await sampleImage() : await syntheticImage(7)
  const { recipe } = await loadRecipe('freebsd-9')
  const base: Recipe = { ...recipe, start }
  const run = (r: Partial<Recipe> = {}, extra: Record<string, unknown> = {}): ReturnType<typeof provision> =>
    provision({ recipe: { ...base, ...r }, image, url: sim.url, ...sim.credentials, skipPreflight: true, upload: UPLOAD, ...extra })
  expect('vm' in (await run())).toBe(true)
  return { sim, image, recipe: base, run }
}

describe('provision of a VM that already exists (made by the tool)', () => {
  it('with the same settings: says so and changes nothing', async () => {
    const { sim, run } = await setup()
    const before = sim.calls().length
    expect(await run()).toMatchObject({ existing: true, action: 'none', state: 'unchanged', disruptive: false, drift: [] })
    expect(changes(sim, before)).toEqual([])
    expect(guests(sim)).toHaveLength(1)
  })

  it('a changed recipe is applied in place (a halted VM: not disruptive), and the next run is unchanged', async () => {
    const { sim, recipe, run } = await setup()
    const mem = { ...recipe.memory, static_max: 384 * MiB, dynamic_min: 384 * MiB, dynamic_max: 384 * MiB }
    const dry = await run({ memory: mem, vcpus: 2 }, { dryRun: true })
    expect(dry).toMatchObject({ existing: true, action: 'update', state: 'planned', disruptive: false })
    const r = await run({ memory: mem, vcpus: 2 })
    expect(r).toMatchObject({ existing: true, action: 'update', state: 'updated' })
    const [, vm] = guests(sim)[0]!
    expect([vm.memory_static_max, vm.memory_dynamic_max, vm.VCPUs_max, vm.VCPUs_at_startup, vm.power_state]).toEqual([384 * MiB, 384 * MiB, 2, 2, 'Halted'])
    expect(await run({ memory: mem, vcpus: 2 })).toMatchObject({ action: 'none', state: 'unchanged' })
  })

  it('a change made on the pool is drift: reported, left as is, changed back only with reconcile', async () => {
    const { sim, run } = await setup()
    const [ref] = guests(sim)[0]!
    sim.state.store.update('VM', ref, { VCPUs_max: 3, VCPUs_at_startup: 3 })
    const before = sim.calls().length
    const r = await run()
    expect(r).toMatchObject({ action: 'drift', state: 'drift' })
    expect('existing' in r && r.drift).toEqual([
      { field: 'VCPUs_max', want: '1', have: '3', kind: 'drift' },
      { field: 'VCPUs_at_startup', want: '1', have: '3', kind: 'drift' },
    ])
    expect(changes(sim, before)).toEqual([])
    expect(await run({}, { reconcile: true })).toMatchObject({ action: 'reconcile', state: 'reconciled' })
    expect(sim.objects().VM![ref]!.VCPUs_max).toBe(1)
  })

  it('halting a running VM needs consent: refused without a terminal (nothing changed), declined on "no", applied with yes and started again', async () => {
    const { sim, recipe, run } = await setup(true)
    const [ref] = guests(sim)[0]!
    const mem = { ...recipe.memory, static_max: 320 * MiB, dynamic_min: 320 * MiB, dynamic_max: 320 * MiB }
    expect(await run({ memory: mem }, { dryRun: true })).toMatchObject({ action: 'update', disruptive: true })
    const before = sim.calls().length
    await expect(run({ memory: mem })).rejects.toMatchObject({ code: 'consent-required' })
    await expect(run({ memory: mem }, { confirm: async () => false })).rejects.toMatchObject({ code: 'declined' })
    expect(changes(sim, before)).toEqual([])
    const asked: string[][] = []
    expect(await run({ memory: mem }, { confirm: async (l: string[]) => (asked.push(l), true) })).toMatchObject({ state: 'updated' })
    expect(asked).toEqual([['FreeBSD-9.0 is running: shut down and started again to change memory_static_max, memory_dynamic_min, memory_dynamic_max']])
    const vm = sim.objects().VM![ref]!
    expect([vm.memory_static_max, vm.power_state]).toEqual([320 * MiB, 'Running'])
  })

  it('a boot mode change is refused without --replace; --replace destroys the VM and its disk and makes it anew', async () => {
    const { sim, run } = await setup()
    const [oldRef, old] = guests(sim)[0]!
    const oldDisk = Object.entries(sim.objects().VDI ?? {}).find(([, d]) => (d.other_config as Record<string, string>)['xcp-provision:vm'] === 'FreeBSD-9.0')![0]
    await expect(run({ boot: { mode: 'pvh' } as Recipe['boot'] })).rejects.toThrow(/a boot mode does not change in place/)
    const dry = await run({}, { replace: true, dryRun: true })
    expect('calls' in dry && dry.calls.filter((c) => c.call.endsWith('(--replace)')).map((c) => c.call.split(' ')[0])).toEqual(['VDI.remove_from_other_config', 'VM.destroy', 'VDI.destroy'])
    await expect(run({}, { replace: true })).rejects.toMatchObject({ code: 'consent-required' })
    expect(sim.objects().VM![oldRef]).toBeDefined()
    const r = await run({}, { replace: true, yes: true })
    expect('replaced' in r && r.replaced).toEqual([`VM FreeBSD-9.0 (${String(old.uuid)})`, expect.stringContaining('VDI ')])
    expect(sim.objects().VM![oldRef]).toBeUndefined()
    expect(sim.objects().VDI![oldDisk]).toBeUndefined()
    expect(guests(sim).map(([, v]) => v.name_label)).toEqual(['FreeBSD-9.0'])
  })
})

describe('provision destroy', () => {
  it('removes a VM the tool made and its disk, never a disk it did not make; refuses a VM without its marks', async () => {
    const { sim } = await setup(true)
    const [ref, vm] = guests(sim)[0]!
    // Someone attaches a data disk of their own by hand.
    const sr = Object.entries(sim.objects().SR ?? {}).find(([, s]) => s.name_label === 'Local storage')![0]
    const mine = sim.state.store.create('VDI', { name_label: 'data', SR: sr, virtual_size: MiB, other_config: {}, VBDs: [], type: 'user', managed: true, is_a_snapshot: false })
    const vbd = sim.state.store.create('VBD', { VM: ref, VDI: mine, userdevice: '1', type: 'Disk', mode: 'RW', currently_attached: false })
    sim.state.store.update('VDI', mine, { VBDs: [vbd] })
    sim.state.store.update('VM', ref, { VBDs: [...(vm.VBDs as string[]), vbd] })
    const o = { url: sim.url, ...sim.credentials, tls: { kind: 'verify' as const }, name: 'FreeBSD-9.0' }
    const dry = await destroy({ ...o, dryRun: true })
    expect(dry.disks.map((d) => d.name_label)).toHaveLength(1)
    expect(dry.kept.map((d) => d.name_label)).toEqual(['data'])
    const before = sim.calls().length
    await expect(destroy(o)).rejects.toMatchObject({ code: 'consent-required' })
    expect(changes(sim, before)).toEqual([])
    const r = await destroy({ ...o, yes: true })
    expect(r.removed[0]).toBe(`VM FreeBSD-9.0 (${String(vm.uuid)})`)
    expect(guests(sim)).toEqual([])
    expect(Object.values(sim.objects().VDI ?? {}).filter((d) => (d.other_config as Record<string, string>)['xcp-provision:vm'])).toEqual([])
    expect(sim.objects().VDI![mine]).toBeDefined()
    await expect(destroy({ ...o, yes: true })).rejects.toMatchObject({ code: 'not-found' })
  })

  it("refuses a VM that carries none of the tool's marks", async () => {
    const sim = await withSimulator()
    const tpl = Object.entries(sim.objects().VM ?? {}).find(([, v]) => v.is_a_template)![0]
    const x = await (await import('../support/simulator.js')).connectTo(sim)
    await x.call('VM.clone', tpl, 'theirs')
    await x.close()
    const ref = Object.entries(sim.objects().VM ?? {}).find(([, v]) => v.name_label === 'theirs')![0]
    await x.close().catch(() => undefined)
    sim.state.store.update('VM', ref, { is_a_template: false })
    await expect(destroy({ url: sim.url, ...sim.credentials, name: 'theirs', yes: true })).rejects.toMatchObject({ code: 'not-managed' })
    expect(sim.objects().VM![ref]).toBeDefined()
  })
})
