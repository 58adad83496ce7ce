import { describe, expect, it } from 'vitest'
import { rollout } from '../../src/fleet/rollout.js'
import { planDiff, summary } from '../../src/fleet/cli/report.js'
import { plan } from '../../src/fleet/planner.js'
import { readInventory, TAG } from '../../src/fleet/inventory.js'
import { vmSpecs } from '../../src/fleet/spec.js'
import { resolveFleet } from '../../src/fleet/load.js'
import { connectTo } from '../support/simulator.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { ENV, fleetOn, hosts } from './support.js'

type Rec = Record<string, unknown> & { other_config: Record<string, string> }

describe('a fleet VM destroyed by hand (xe vm-destroy keeps its disk)', () => {
  it('its disk is never taken for a leftover: the rollout says so, leaves it, and makes the VM again', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    expect((await rollout({ fleet, env: ENV })).ok).toBe(true)
    const x = await connectTo(sim!)
    const [ref, vm] = Object.entries(sim!.objects().VM!).find(([, v]) => v.name_label === 'web-1')!
    const disk = String(sim!.objects().VBD![(vm.VBDs as string[])[0]!]!.VDI)
    const diskUuid = String(sim!.objects().VDI![disk]!.uuid)
    await x.callAsync('VM.hard_shutdown', ref)
    await x.call('VM.destroy', ref)

    const dry = await rollout({ fleet, env: ENV, dryRun: true })
    expect(dry.vms[0]).toMatchObject({ action: 'create', leftovers: [], left_in_place: [expect.stringContaining(diskUuid)] })
    expect(planDiff(dry)).toContain(`of fleet VM web-1 is attached to no VM; left in place`)

    const again = await rollout({ fleet, env: ENV })
    expect(again.vms.map((v) => v.state)).toEqual(['created', 'unchanged'])
    expect(again.vms[0]!.leftovers).toEqual([])
    expect(again.vms[0]!.left_in_place).toEqual([expect.stringContaining(`disk "web-1-vdi" (${diskUuid}) of fleet VM web-1 is attached to no VM; left in place`)])
    expect(summary(again)).toContain(diskUuid)
    // The data is still there, and a third run still leaves it.
    expect(sim!.objects().VDI![disk]).toBeDefined()
    expect((await rollout({ fleet, env: ENV })).vms.map((v) => v.state)).toEqual(['unchanged', 'unchanged'])
    expect(sim!.objects().VDI![disk]).toBeDefined()
  })

  it("a finished VM's disk carries no incomplete mark: only a run's unfinished disks do", async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    await rollout({ fleet, env: ENV })
    const disks = Object.values(sim!.objects().VDI!).filter((d) => (d as Rec).other_config[TAG.vm]) as Rec[]
    expect(disks).toHaveLength(2)
    for (const d of disks) {
      expect(d.other_config[TAG.fleet]).toBe('web')
      expect(d.other_config['xcp-provision:incomplete']).toBeUndefined()
    }
  })
})

describe('what a kill can leave that looks like a base or a template', () => {
  it('a VM.clone of the golden template (still a template, with its tags) is never taken for the golden template', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    const first = await rollout({ fleet, env: ENV })
    const golden = first.templates[0]!.uuid!
    const x = await connectTo(sim!)
    const goldenRef = Object.entries(sim!.objects().VM!).find(([, v]) => v.uuid === golden)![0]
    // What a run killed right after a VM's clone leaves: a template with the golden one's
    // tags under the temporary name. Clone it until one sorts before the golden template.
    let stray: string | undefined
    // Each clone sorts first with the chance the golden uuid leaves; 1,000 tries miss only when that uuid starts 000…
    for (let i = 0; i < 1000 && !stray; i++) {
      const ref = await x.call<string>('VM.clone', goldenRef, 'web-3 [xcp-provision: incomplete]')
      const uuid = String(sim!.objects().VM![ref]!.uuid)
      if (uuid.localeCompare(golden) < 0) stray = ref
      else await x.call('VM.destroy', ref)
    }
    expect(stray).toBeDefined()
    const resolved = await resolveFleet({ ...fleet, groups: [{ ...fleet.groups[0]!, names: 'web-{1..3}' }] }, process.cwd())
    const p = plan({
      fleet: 'web',
      specs: vmSpecs(resolved),
      pools: new Map([['p1', { inv: await readInventory(x) }]]),
      images: new Map([[fleet.groups[0]!.image!, { map: await scanDataRegions(fleet.groups[0]!.image!), sha256: first.bases[0]!.image_sha256 }]]),
      reconcile: false,
    })
    expect(p.templates.map((t) => t.existing?.uuid)).toEqual([golden])
    // It is web-3's leftover, removed before web-3 is made.
    expect(p.vms[2]!.leftovers.flatMap((l) => l.found.vms.map((v) => v.ref))).toEqual([stray])
  })
})
