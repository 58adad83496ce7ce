import { planDiff } from '../../src/fleet/cli/report.js'
import { describe, expect, it } from 'vitest'
import { rollout, RolloutResult, type RolloutEvent } from '../../src/index.js'
import type { Simulator } from '../../mocks/simulator.js'
import { TAG } from '../../src/fleet/inventory.js'
import { ENV, fleetOn, isReadOnly, twoHostPool } from './support.js'

type Rec = Record<string, unknown> & { other_config: Record<string, string> }
const records = (sim: Simulator, cls: string): [string, Rec][] => Object.entries(sim.objects()[cls] ?? {}) as [string, Rec][]
const fleetVms = (sim: Simulator): [string, Rec][] => records(sim, 'VM').filter(([, v]) => !v.is_a_template && v.other_config[TAG.vm])
const MiB = 1024 * 1024

describe('rollout: 20 VMs on a pool of two hosts', () => {
  it('creates them all running with unique MACs, uploads once per SR, and a re-run changes nothing', async () => {
    const sim = await twoHostPool()
    const fleet = await fleetOn([sim])
    const events: RolloutEvent[] = []
    const r = await rollout({ fleet, env: ENV, onEvent: (e) => events.push(e) })

    expect(RolloutResult.parse(r)).toEqual(r)
    expect(r.ok).toBe(true)
    expect(r.vms.map((v) => v.state)).toEqual(Array(20).fill('created'))
    // Round-robin over the pool's two hosts, in file order, each VM's disk on its host's Local storage.
    expect(r.vms.slice(0, 4).map((v) => v.host)).toEqual(['xcp1', 'xcp2', 'xcp1', 'xcp2'])
    const vms = fleetVms(sim)
    expect(vms).toHaveLength(20)
    expect(vms.every(([, v]) => v.power_state === 'Running')).toBe(true)
    const hostOfSr = new Map(records(sim, 'PBD').map(([, p]) => [String(p.SR), String(p.host)]))
    const hostName = new Map(records(sim, 'host').map(([ref, h]) => [ref, String(h.name_label)]))
    for (const [, vm] of vms) {
      const vbd = records(sim, 'VBD').find(([ref]) => (vm.VBDs as string[]).includes(ref))![1]
      const sr = String(sim.objects().VDI![String(vbd.VDI)]!.SR)
      expect(hostName.get(hostOfSr.get(sr)!)).toBe(r.vms.find((v) => v.name === vm.name_label)!.host)
      expect(hostName.get(String(vm.affinity))).toBe(r.vms.find((v) => v.name === vm.name_label)!.host)
    }
    // One base VDI per SR: tagged with the image hash and no VM; every VM disk is a clone of it.
    const bases = records(sim, 'VDI').filter(([, v]) => v.other_config[TAG.imageSha256] && !v.other_config[TAG.vm])
    expect(bases.map(([, v]) => v.SR).sort()).toEqual(
      records(sim, 'SR')
        .filter(([, s]) => s.name_label === 'Local storage')
        .map(([ref]) => ref)
        .sort(),
    )
    expect(sim.calls().filter((m) => m === 'VDI.create')).toHaveLength(2)
    expect(sim.calls().filter((m) => m === 'VDI.clone')).toHaveLength(20)
    expect(r.bases.map((b) => b.action)).toEqual(['upload', 'upload'])
    // One golden template for the pool, cloned for each VM.
    expect(records(sim, 'VM').filter(([, v]) => v.is_a_template && v.other_config[TAG.templateSha256])).toHaveLength(1)
    const macs = records(sim, 'VIF').map(([, v]) => String(v.MAC))
    expect(macs).toHaveLength(20)
    expect(new Set(macs).size).toBe(20)
    // The per-VM cost the issue bounds: at most 15 calls once the base and template exist.
    expect(Math.max(...r.vms.map((v) => v.calls))).toBeLessThanOrEqual(15)
    expect(events.filter((e) => e.type === 'vm-done')).toHaveLength(20)

    const before = sim.calls().length
    const again = await rollout({ fleet, env: ENV })
    expect(again.vms.map((v) => v.state)).toEqual(Array(20).fill('unchanged'))
    expect(again.bases).toEqual([])
    expect(again.templates).toEqual([])
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
  })

  it('reports drift without touching it, and --reconcile brings the VM back', async () => {
    const sim = await twoHostPool()
    const fleet = await fleetOn([sim], 'web-{01..04}')
    expect((await rollout({ fleet, env: ENV })).ok).toBe(true)
    // Someone raises web-02's memory by hand.
    const [ref] = fleetVms(sim).find(([, v]) => v.name_label === 'web-02')!
    sim.state.store.update('VM', ref, { memory_static_max: 512 * MiB, memory_dynamic_max: 512 * MiB })

    const before = sim.calls().length
    const r = await rollout({ fleet, env: ENV })
    const web02 = r.vms.find((v) => v.name === 'web-02')!
    expect(web02.state).toBe('drift')
    expect(web02.drift).toEqual([
      { field: 'memory_static_max', want: '256 MiB', have: '512 MiB', kind: 'drift' },
      { field: 'memory_dynamic_max', want: '256 MiB', have: '512 MiB', kind: 'drift' },
    ])
    expect(r.vms.filter((v) => v.state === 'unchanged')).toHaveLength(3)
    expect(r.ok).toBe(true)
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
    expect(sim.objects().VM![ref]!.memory_dynamic_max).toBe(512 * MiB)

    // web-02 runs: reverting it halts it, which the plan marks and which needs consent.
    const plan = await rollout({ fleet, env: ENV, reconcile: true, dryRun: true })
    expect(plan.vms.map((v) => [v.action, v.disruptive])).toEqual([
      ['none', false],
      ['reconcile', true],
      ['none', false],
      ['none', false],
    ])
    await expect(rollout({ fleet, env: ENV, reconcile: true })).rejects.toMatchObject({ code: 'consent-required' })
    const fixed = await rollout({ fleet, env: ENV, reconcile: true, yes: true })
    expect(fixed.vms.find((v) => v.name === 'web-02')!.state).toBe('reconciled')
    const vm = sim.objects().VM![ref]!
    expect([vm.memory_static_max, vm.memory_dynamic_max, vm.power_state]).toEqual([256 * MiB, 256 * MiB, 'Running'])
    expect((await rollout({ fleet, env: ENV })).vms.map((v) => v.state)).toEqual(Array(4).fill('unchanged'))
  })

  it('applies an edit of the fleet file (intent) without --reconcile, tells it from drift made on the pool, and asks before halting', async () => {
    const sim = await twoHostPool()
    const fleet = await fleetOn([sim], 'web-{01..03}')
    expect((await rollout({ fleet, env: ENV })).ok).toBe(true)
    // Someone changes web-03's VCPUs by hand (drift); the file then gives web-01 and web-02 more memory (intent).
    const [ref3] = fleetVms(sim).find(([, v]) => v.name_label === 'web-03')!
    sim.state.store.update('VM', ref3, { VCPUs_max: 2, VCPUs_at_startup: 2 })
    const edited = { ...fleet, groups: [{ ...fleet.groups[0]!, defaults: { memory: '384MiB' } }] } as typeof fleet
    const plan = await rollout({ fleet: edited, env: ENV, dryRun: true })
    expect(plan.vms.map((v) => [v.name, v.action, v.disruptive])).toEqual([
      ['web-01', 'update', true],
      ['web-02', 'update', true],
      ['web-03', 'update', true],
    ])
    const w3 = plan.vms[2]!.drift
    expect(w3.filter((d) => d.kind === 'drift').map((d) => d.field)).toEqual(['VCPUs_max', 'VCPUs_at_startup'])
    expect(w3.filter((d) => d.kind === 'change').map((d) => d.field)).toEqual(['memory_static_max', 'memory_dynamic_min', 'memory_dynamic_max'])
    const text = planDiff(plan)
    expect(text).toContain('~ web-01  update in place (p1/xcp1)  [disruptive: halts the VM]')
    expect(text).toContain('+ memory_static_max: 384 MiB   (changed in the file)')
    expect(text).toContain('+ VCPUs_max: 1   (drift on the pool)')
    expect(text).toContain('3 disruptive (applying asks first, or needs --yes)')

    const before = sim.calls().length
    await expect(rollout({ fleet: edited, env: ENV })).rejects.toMatchObject({ code: 'consent-required' })
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
    const r = await rollout({ fleet: edited, env: ENV, yes: true })
    expect(r.vms.map((v) => v.state)).toEqual(['updated', 'updated', 'updated'])
    for (const [, v] of fleetVms(sim)) expect([v.memory_static_max, v.memory_dynamic_max, v.power_state]).toEqual([384 * MiB, 384 * MiB, 'Running'])
    // The drift was left alone (no --reconcile), and stays drift on the next run; the rest is unchanged.
    expect(sim.objects().VM![ref3]!.VCPUs_max).toBe(2)
    const again = await rollout({ fleet: edited, env: ENV })
    expect(again.vms.map((v) => v.action)).toEqual(['none', 'none', 'drift'])
    expect(again.vms[2]!.drift.map((d) => d.kind)).toEqual(['drift', 'drift'])
  })

  it('a VM with no record of the last apply (made before the record) counts every difference as drift', async () => {
    const sim = await twoHostPool()
    const fleet = await fleetOn([sim], 'web-{01..02}')
    expect((await rollout({ fleet, env: ENV })).ok).toBe(true)
    for (const [ref, v] of fleetVms(sim)) {
      const oc = { ...(v.other_config as Record<string, string>) }
      delete oc['xcp-provision:settings']
      sim.state.store.update('VM', ref, { other_config: oc })
    }
    const edited = { ...fleet, groups: [{ ...fleet.groups[0]!, defaults: { vcpus: 2 } }] } as typeof fleet
    const r = await rollout({ fleet: edited, env: ENV, dryRun: true })
    expect(r.vms.map((v) => [v.action, v.drift.map((d) => d.kind)])).toEqual([
      ['drift', ['drift', 'drift']],
      ['drift', ['drift', 'drift']],
    ])
  })

  it('rolls back a VM whose start fails while the others finish, and a re-run creates only that one', async () => {
    const sim = await twoHostPool()
    const fleet = await fleetOn([sim])
    sim.faults.add({ method: 'VM.start', nth: 3, error: ['BOOTLOADER_FAILED', 'OpaqueRef:x', 'injected'] })
    const r = await rollout({ fleet, env: ENV })

    expect(r.ok).toBe(false)
    const failed = r.vms.filter((v) => v.state === 'failed')
    expect(failed).toHaveLength(1)
    expect(r.vms.filter((v) => v.state === 'created')).toHaveLength(19)
    const f = failed[0]!
    expect(f.error!.what).toContain('Start the VM failed')
    expect(f.error!.why).toContain('BOOTLOADER_FAILED')
    expect(f.error!.removed.map((x) => x.split(' ')[0])).toEqual(['VBD', 'VIF', 'VM', 'VDI'])
    // Nothing of it is left: no VM, no disk clone; the bases are still there.
    expect(fleetVms(sim).map(([, v]) => v.name_label)).not.toContain(f.name)
    expect(fleetVms(sim)).toHaveLength(19)
    expect(records(sim, 'VDI').filter(([, v]) => v.other_config[TAG.vm] === f.name)).toEqual([])
    expect(records(sim, 'VDI').filter(([, v]) => v.other_config[TAG.imageSha256] && !v.other_config[TAG.vm])).toHaveLength(2)
    expect(records(sim, 'VBD')).toHaveLength(19)
    expect(records(sim, 'VIF')).toHaveLength(19)

    const again = await rollout({ fleet, env: ENV })
    expect(again.vms.filter((v) => v.state === 'created').map((v) => v.name)).toEqual([f.name])
    expect(again.vms.filter((v) => v.state === 'unchanged')).toHaveLength(19)
    expect(again.bases.map((b) => b.action)).toEqual(['reuse'])
    expect(again.templates.map((t) => t.action)).toEqual(['reuse'])
  })
})
