import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { rollout, RolloutResult } from '../../src/index.js'
import { UserError } from '../../src/errors.js'
import { TAG } from '../../src/fleet/inventory.js'
import { planDiff } from '../../src/fleet/cli/report.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import type { Simulator } from '../../mocks/simulator.js'
import { withSimulator } from '../support/simulator.js'
import { ENV, fleetOn, isReadOnly, sampleImage } from './support.js'

type Rec = Record<string, unknown> & { other_config: Record<string, string>; platform: Record<string, string> }
const records = (sim: Simulator, cls: string): [string, Rec][] => Object.entries(sim.objects()[cls] ?? {}) as [string, Rec][]
const fleetVms = (sim: Simulator): [string, Rec][] => records(sim, 'VM').filter(([, v]) => !v.is_a_template && v.other_config[TAG.vm])
const goldens = (sim: Simulator): [string, Rec][] => records(sim, 'VM').filter(([, v]) => v.is_a_template && v.other_config[TAG.templateSha256])
const counts = (sim: Simulator): Record<string, number> => Object.fromEntries(['VM', 'VDI', 'VBD', 'VIF'].map((c) => [c, records(sim, c).length]))
const RECIPES = join(import.meta.dirname, '../../recipes')
const EXAMPLE = join(import.meta.dirname, '../../docs/examples/fleet-boot-modes.yaml')

async function hvmImage(firmware: 'bios' | 'uefi' | 'both'): Promise<string> {
  const image = join(await mkdtemp(join(tmpdir(), 'fleet-hvm-')), `${firmware}.img`)
  await writeSampleHvmImage(image, { firmware, diskSize: SMALL_HVM })
  return image
}

/** The default simulator, XCP-ng 8.3 (the suite's helpers default to 8.2 for the PV recipe). */
const sim83 = (): Promise<Simulator> => withSimulator({ profile: 'xcp-ng-8.3', hostName: 'xcp1' })

const hvmFleet = async (sim: Simulator, image: string, recipe = 'freebsd-14', names: string | string[] = 'bsd-{1..3}'): Promise<FleetInput> => ({
  ...(await fleetOn([sim], names, { image })),
  groups: [{ recipe, image, pools: ['p1'], names }],
})

/** freebsd-14 with another firmware, as someone editing the recipe would write it. */
async function recipeWithFirmware(firmware: 'bios' | 'uefi'): Promise<string> {
  const text = (await readFile(join(RECIPES, 'freebsd-14.yaml'), 'utf8')).replace('firmware: uefi', `firmware: ${firmware}`)
  const file = join(await mkdtemp(join(tmpdir(), 'fleet-recipe-')), `freebsd-14-${firmware}.yaml`)
  await writeFile(file, text)
  return file
}

describe('rollout of an HVM UEFI recipe on XCP-ng 8.3', () => {
  it('builds every VM as the recipe asks (fields checked in the simulator), booted by the UEFI firmware; a re-run changes nothing', async () => {
    const sim = await sim83()
    const fleet = await hvmFleet(sim, await hvmImage('uefi'))
    const r = await rollout({ fleet, env: ENV })
    expect(RolloutResult.parse(r)).toEqual(r)
    expect(
      r.vms.map((v) => [v.name, v.state]),
      JSON.stringify(r.vms.map((v) => v.error)),
    ).toEqual([
      ['bsd-1', 'created'],
      ['bsd-2', 'created'],
      ['bsd-3', 'created'],
    ])
    // The pool's release and capabilities, as provision's --json shows them.
    expect(r.pools[0]!.host?.master).toMatchObject({ name: 'xcp1', release: 'XCP-ng 8.3.0', capabilities: { hvm: true, pv: false, uefi: true } })

    const vms = fleetVms(sim)
    expect(vms).toHaveLength(3)
    for (const [ref, vm] of vms) {
      expect(vm).toMatchObject({
        power_state: 'Running',
        domain_type: 'hvm',
        HVM_boot_policy: 'BIOS order',
        HVM_boot_params: { firmware: 'uefi', order: 'c' },
        PV_bootloader: '',
        PV_bootloader_args: '',
        PV_args: '',
        VCPUs_max: 2,
      })
      expect(vm.platform).toMatchObject({ secureboot: 'false', 'device-model': 'qemu-upstream-uefi' })
      expect(vm.platform).not.toHaveProperty('viridian')
      // The simulator's UEFI emulation found the ESP and \EFI\BOOT\BOOTX64.EFI on the cloned disk.
      const boots = sim.console(ref)
      expect(boots.at(-1), JSON.stringify(boots)).toMatchObject({ firmware: 'uefi', booted: true, reason: null })
    }
    // One golden template, carrying the boot settings the clones inherit.
    const [golden] = goldens(sim)
    expect(goldens(sim)).toHaveLength(1)
    expect(golden![1]).toMatchObject({ HVM_boot_policy: 'BIOS order', HVM_boot_params: { firmware: 'uefi', order: 'c' }, PV_bootloader: '' })
    // The golden template's steps are provision's, with its hvm step in place of the PV one.
    expect(sim.calls().filter((m) => m === 'VM.set_HVM_boot_policy')).toEqual(['VM.set_HVM_boot_policy'])
    expect(sim.calls()).not.toContain('VM.set_domain_type')

    const before = sim.calls().length
    const again = await rollout({ fleet, env: ENV })
    expect(again.vms.map((v) => v.state)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    expect(again.templates).toEqual([])
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
  })

  it("--dry-run shows each pool's release and capabilities in the diff and in the result", async () => {
    const sim = await sim83()
    const r = await rollout({ fleet: await hvmFleet(sim, await hvmImage('uefi')), env: ENV, dryRun: true })
    expect(r.pools[0]!.host?.master.software_version).toMatchObject({ product_brand: 'XCP-ng', platform_version: '3.4.0' })
    const text = planDiff(r)
    expect(text).toContain('Pool p1 (')
    expect(text).toMatch(/master xcp1: XCP-ng 8\.3\.0, API 2\.21; hvm yes, uefi yes, pv no/)
    expect(sim.calls().filter((m) => !isReadOnly(m))).toEqual([])
  })

  it("runs the HVM preflight for the recipe's firmware on each image: a disk without an ESP stops a UEFI rollout before any change", async () => {
    const sim = await sim83()
    const err = await rollout({ fleet: await hvmFleet(sim, await hvmImage('bios')), env: ENV }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).info.what).toContain('cannot boot with UEFI firmware')
    expect((err as UserError).info.fix).toContain('boot.firmware: bios')
    expect(sim.calls().filter((m) => !isReadOnly(m))).toEqual([])
  })

  it('refuses pv_args in the settings of an HVM group, naming the field', async () => {
    const sim = await sim83()
    const image = await hvmImage('uefi')
    const fleet = await hvmFleet(sim, image)
    fleet.groups[0]!.overrides = { 'bsd-2': { pv_args: 'boot_verbose' } }
    const err = await rollout({ fleet, env: ENV }).catch((e: unknown) => e)
    expect((err as UserError).info.what).toBe('fleet: groups.0.overrides.bsd-2: pv_args is for boot.mode pv or pvh')
  })
})

describe('host awareness per pool', () => {
  it('a PV fleet against XCP-ng 8.3 is refused before any change in any pool, naming the pool and the group', async () => {
    const sim82 = await withSimulator({ profile: 'xcp-ng-8.2', hostName: 'old' })
    const sim = await sim83()
    const fleet = await fleetOn([sim82, sim], 'web-{01..04}')
    const before = [counts(sim82), counts(sim)]
    const err = await rollout({ fleet, env: ENV }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    const info = (err as UserError).info
    expect(info.what).toContain('pool p2 cannot run groups.0 (recipe freebsd-9): XCP-ng 8.3.0 cannot run the PV guest this recipe builds (host xcp1)')
    expect(info.what).not.toContain('pool p1')
    expect(info.why).toContain('removed PV mode')
    expect(info.fix).toContain('use an HVM recipe')
    expect(info.fix).toContain('Nothing was changed in any pool')
    expect(info.exitCode).toBe(1)
    // Not even the 8.2 pool, which could run it, was touched.
    expect([counts(sim82), counts(sim)]).toEqual(before)
    for (const s of [sim82, sim]) expect(s.calls().filter((m) => !isReadOnly(m))).toEqual([])
  })

  it('the same PV fleet against XCP-ng 8.2 works as today: pygrub, domain_type pv, running', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.2' })
    const r = await rollout({ fleet: await fleetOn([sim], ['a', 'b']), env: ENV })
    expect(r.ok).toBe(true)
    expect(r.pools[0]!.host?.master).toMatchObject({ release: 'XCP-ng 8.2.1', capabilities: { pv: true, pv32: false } })
    for (const [, vm] of fleetVms(sim)) {
      expect(vm).toMatchObject({ domain_type: 'pv', HVM_boot_policy: '', PV_bootloader: 'pygrub', PV_args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a', power_state: 'Running' })
    }
  })

  it("a PVH group runs with the pool's warning that PVH is experimental, in the result", async () => {
    const sim = await sim83()
    const recipe = join(await mkdtemp(join(tmpdir(), 'fleet-pvh-')), 'pvh.yaml')
    await writeFile(recipe, (await readFile(join(RECIPES, 'freebsd-9.yaml'), 'utf8')).replace(/boot:\n  mode: pv\n/, 'boot:\n  mode: pvh\n'))
    const image = await sampleImage()
    const fleet: FleetInput = { ...(await fleetOn([sim], ['p-1'])), groups: [{ recipe, image, pools: ['p1'], names: ['p-1'] }] }
    const r = await rollout({ fleet, env: ENV })
    expect(r.ok, JSON.stringify(r.vms[0]!.error)).toBe(true)
    expect(r.pools[0]!.warnings.join('\n')).toContain('experimental on XCP-ng')
    expect(fleetVms(sim)[0]![1]).toMatchObject({ domain_type: 'pvh', HVM_boot_policy: '', PV_bootloader: 'pygrub', power_state: 'Running' })
  })
})

describe('a changed boot setting in the fleet', () => {
  it('builds a new golden template for new VMs; an existing VM whose boot the file changed fails without --replace (nothing changed), is refused without consent, and is made anew with --replace --yes', async () => {
    const sim = await sim83()
    const image = await hvmImage('both')
    const first = await rollout({ fleet: await hvmFleet(sim, image, await recipeWithFirmware('uefi'), ['bsd-1', 'bsd-2']), env: ENV })
    expect(first.ok).toBe(true)

    const bios = await hvmFleet(sim, image, await recipeWithFirmware('bios'), ['bsd-1', 'bsd-2', 'bsd-3'])
    const r = await rollout({ fleet: bios, env: ENV })
    expect(r.vms.map((v) => [v.name, v.state])).toEqual([
      ['bsd-1', 'failed'],
      ['bsd-2', 'failed'],
      ['bsd-3', 'created'],
    ])
    expect(r.vms[0]!.drift).toEqual([{ field: 'boot', want: 'hvm bios', have: 'hvm uefi', kind: 'change' }])
    expect(r.vms[0]!.error?.what).toContain('a boot mode does not change in place')
    expect(r.vms[0]!.error?.fix).toContain('--replace')
    expect(r.templates.map((t) => t.action)).toEqual(['build'])
    expect(
      goldens(sim)
        .map(([, t]) => (t.HVM_boot_params as Record<string, string>).firmware)
        .sort(),
    ).toEqual(['bios', 'uefi'])
    const [ref3, vm3] = fleetVms(sim).find(([, v]) => v.name_label === 'bsd-3')!
    expect(vm3.HVM_boot_params).toEqual({ firmware: 'bios', order: 'c' })
    expect(sim.console(ref3).at(-1)).toMatchObject({ firmware: 'bios', booted: true })

    // --replace is disruptive: the plan says so, and without consent nothing changes.
    const plan = await rollout({ fleet: bios, env: ENV, replace: true, dryRun: true })
    expect(plan.vms.map((v) => [v.action, v.disruptive])).toEqual([
      ['replace', true],
      ['replace', true],
      ['none', false],
    ])
    const before = sim.calls().length
    await expect(rollout({ fleet: bios, env: ENV, replace: true })).rejects.toMatchObject({ code: 'consent-required' })
    await expect(rollout({ fleet: bios, env: ENV, replace: true, confirm: async () => false })).rejects.toMatchObject({ code: 'declined' })
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
    const old = new Set(fleetVms(sim).map(([, v]) => v.uuid))
    const asked: string[][] = []
    const rep = await rollout({ fleet: bios, env: ENV, replace: true, confirm: async (lines) => (asked.push(lines), true) })
    expect(asked[0]).toHaveLength(2)
    expect(asked[0]![0]).toMatch(/^bsd-1 .* is destroyed with .* and made anew \(boot hvm uefi -> hvm bios\)/)
    expect(rep.vms.map((v) => v.state)).toEqual(['replaced', 'replaced', 'unchanged'])
    const now = fleetVms(sim)
    expect(now).toHaveLength(3)
    expect(now.filter(([, v]) => old.has(v.uuid)).map(([, v]) => v.name_label)).toEqual(['bsd-3'])
    for (const [ref, v] of now) {
      expect(v.HVM_boot_params).toEqual({ firmware: 'bios', order: 'c' })
      expect(sim.console(ref).at(-1)).toMatchObject({ firmware: 'bios', booted: true })
    }
    // The old VMs' disks went with them: one disk per VM of the fleet, plus the base.
    const disks = Object.values(sim.objects().VDI ?? {}).filter((d) => (d.other_config as Record<string, string>)['xcp-provision:vm'])
    expect(disks).toHaveLength(3)
    expect((await rollout({ fleet: bios, env: ENV })).vms.map((v) => v.state)).toEqual(['unchanged', 'unchanged', 'unchanged'])
  })
})

describe('docs/examples/fleet-boot-modes.yaml', () => {
  it("rolls out as written against an 8.3 and an 8.2 simulator (URLs and images swapped for the test's): UEFI guests on one, the PV guest on the other", async () => {
    const [current, legacy] = [await sim83(), await withSimulator({ profile: 'xcp-ng-8.2', hostName: 'old' })]
    const fleet = parseYaml(await readFile(EXAMPLE, 'utf8')) as FleetInput
    fleet.pools.current!.url = current.url
    fleet.pools.legacy!.url = legacy.url
    fleet.groups[0]!.image = await hvmImage('uefi')
    fleet.groups[1]!.image = await sampleImage()
    const r = await rollout({ fleet, env: ENV, baseDir: join(import.meta.dirname, '../../docs/examples') })
    expect(r.vms.map((v) => [v.name, v.pool, v.state])).toEqual([
      ['bsd-1', 'current', 'created'],
      ['bsd-2', 'current', 'created'],
      ['bsd-3', 'current', 'created'],
      ['old-1', 'legacy', 'created'],
    ])
    expect(fleetVms(current).map(([, v]) => v.domain_type)).toEqual(['hvm', 'hvm', 'hvm'])
    expect(fleetVms(legacy).map(([, v]) => v.domain_type)).toEqual(['pv'])
    // The PV group pointed at the 8.3 pool is the refusal the file's comment promises.
    fleet.groups[1]!.pools = ['current']
    await expect(rollout({ fleet, env: ENV, baseDir: process.cwd(), dryRun: true })).rejects.toThrow(/pool current cannot run groups\.1 \(recipe freebsd-9\)/)
  })
})
