import { describe, expect, it } from 'vitest'
import { rollout, type RolloutEvent } from '../../src/index.js'
import { planDiff, summary } from '../../src/fleet/cli/report.js'
import { deriveMac } from '../../src/select/mac.js'
import { ENV, fleetOn, hosts, isReadOnly } from './support.js'

const FAST_RETRY = { minTimeoutMs: 5, maxTimeoutMs: 20 }
const MiB = 1024 * 1024

describe('rollout behaviour', () => {
  it('--dry-run changes nothing and shows the plan as a diff, before and after a change', async () => {
    const sims = await hosts(2)
    const fleet = await fleetOn(sims, 'web-{1..4}')
    const dry = await rollout({ fleet, env: ENV, dryRun: true })
    expect(dry.vms.map((v) => [v.action, v.state])).toEqual(Array(4).fill(['create', 'planned']))
    expect(sims.flatMap((s) => s.calls()).filter((m) => !isReadOnly(m))).toEqual([])
    const text = planDiff(dry)
    expect(text).toContain(`  + web-1  create on p1/xcp1, SR "Local storage" on xcp1, MAC ${deriveMac('web-1')}`)
    expect(text).toContain('  + pool p2, SR "Local storage": upload')
    expect(text).toContain('Plan: 4 to create, 0 to update, 0 to replace, 0 unchanged, 0 drifted, 0 to reconcile, 0 cannot be made or changed.')

    await rollout({ fleet, env: ENV })
    const changed = await fleetOn(sims, 'web-{1..5}', { defaults: { memory: '384MiB' } })
    const diff = planDiff(await rollout({ fleet: changed, env: ENV, dryRun: true }))
    // An edit of the file is intent: applied in place (halting the running VMs, so marked disruptive), not reported as drift.
    expect(diff).toContain('  ~ web-1  update in place (p1/xcp1)  [disruptive: halts the VM]\n      - memory_static_max: 256 MiB\n      + memory_static_max: 384 MiB   (changed in the file)')
    expect(diff).toContain('  + web-5  create on p1/xcp1')
    // web-5 needs a golden template with the new memory; the old one stays for nobody.
    expect(diff).toContain('  + pool p1: build "xcp-provision web: FreeBSD-9.0')
    expect(diff).toContain('  = pool p1, SR "Local storage": re-use VDI')
    const rec = await rollout({ fleet: changed, env: ENV, dryRun: true, reconcile: true })
    expect(rec.vms.slice(0, 4).map((v) => [v.action, v.disruptive])).toEqual(Array(4).fill(['update', true]))
  })

  it('applies per-VM overrides on the clone and then sees no drift', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'app-{1..3}', {
      overrides: { 'app-2': { memory: '512MiB', vcpus: 2, pv_args: 'boot_verbose=1', mac: '00:16:3e:7f:00:02' } },
    })
    const r = await rollout({ fleet, env: ENV })
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'created', 'created'])
    const vm = Object.values(sim!.objects().VM!).find((v) => v.name_label === 'app-2')!
    expect([vm.memory_static_max, vm.memory_dynamic_min, vm.VCPUs_max, vm.VCPUs_at_startup, vm.PV_args]).toEqual([512 * MiB, 512 * MiB, 2, 2, 'boot_verbose=1'])
    expect(Object.values(sim!.objects().VIF!).find((v) => v.VM === Object.entries(sim!.objects().VM!).find(([, x]) => x.name_label === 'app-2')![0])!.MAC).toBe('00:16:3e:7f:00:02')
    expect((await rollout({ fleet, env: ENV })).vms.map((v) => v.state)).toEqual(['unchanged', 'unchanged', 'unchanged'])
  })

  it('backs off and retries on TOO_MANY_PENDING_TASKS and OTHER_OPERATION_IN_PROGRESS, but not on other errors', async () => {
    const [sim] = await hosts(1)
    sim!.faults.add({ method: 'VIF.create', error: ['TOO_MANY_PENDING_TASKS'], times: 2 })
    sim!.faults.add({ method: 'VBD.create', nth: 2, error: ['INTERNAL_ERROR', 'disk on fire'] })
    // Through a task: Async.VM.start succeeds, the task fails; the whole call is retried.
    sim!.faults.add({ method: 'VM.start', nth: 2, error: ['OTHER_OPERATION_IN_PROGRESS', 'VM', 'OpaqueRef:x', 'clone', 'OpaqueRef:t'] })
    const events: RolloutEvent[] = []
    const r = await rollout({ fleet: await fleetOn([sim!], 'web-{1..3}'), env: ENV, concurrency: 1, retry: FAST_RETRY, onEvent: (e) => events.push(e) })
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'failed', 'created'])
    expect(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && [e.vm, e.method, e.code])).toEqual([
      ['web-1', 'VIF.create', 'TOO_MANY_PENDING_TASKS'],
      ['web-1', 'VIF.create', 'TOO_MANY_PENDING_TASKS'],
      ['web-3', 'VM.start', 'OTHER_OPERATION_IN_PROGRESS'],
    ])
    expect(r.vms[1]!.error!.why).toContain('INTERNAL_ERROR')
    expect(summary(r)).toMatch(/web-2 +p1\/xcp1 +failed +[\d.]+ m?s +Attach the disk failed/)
    // One wave (no --wave): no wave line repeating the VM's own failure.
    expect(summary(r)).not.toContain('Wave 1 of 1')
  })

  it('--fail-fast stops starting VMs after the first failure', async () => {
    const [sim] = await hosts(1)
    sim!.faults.add({ method: 'VM.start', error: ['BOOTLOADER_FAILED', 'x', 'injected'] })
    const r = await rollout({ fleet: await fleetOn([sim!], 'web-{1..4}'), env: ENV, concurrency: 1, failFast: true })
    expect(r.vms.map((v) => v.state)).toEqual(['failed', 'skipped', 'skipped', 'skipped'])
    expect(r.ok).toBe(false)
  })

  it('keeps to the per-host and global limits', async () => {
    const sims = await hosts(2)
    for (const s of sims) s.faults.add({ method: '*', delayMs: 3, times: 0 })
    const inFlight = new Map<string, number>()
    const peak = new Map<string, number>()
    const host = new Map<string, string>()
    const bump = (k: string, d: number): void => {
      inFlight.set(k, (inFlight.get(k) ?? 0) + d)
      peak.set(k, Math.max(peak.get(k) ?? 0, inFlight.get(k)!))
    }
    const seen = new Set<string>()
    const r = await rollout({
      fleet: await fleetOn(sims, 'web-{01..12}'),
      env: ENV,
      perHost: 2,
      concurrency: 3,
      onEvent: (e) => {
        if (e.type === 'plan') for (const v of e.vms) host.set(v.name, v.host ?? '?')
        if (e.type === 'vm-step' && !seen.has(e.vm)) {
          seen.add(e.vm)
          bump(host.get(e.vm)!, 1)
          bump('total', 1)
        }
        if (e.type === 'vm-done') {
          bump(host.get(e.vm)!, -1)
          bump('total', -1)
        }
      },
    })
    expect(r.ok).toBe(true)
    expect(peak.get('xcp1')).toBe(2)
    expect(peak.get('xcp2')).toBe(2)
    expect(peak.get('total')).toBe(3)
  })

  it('reports VMs the file no longer names, and never touches them', async () => {
    const [sim] = await hosts(1)
    await rollout({ fleet: await fleetOn([sim!], 'web-{1..3}'), env: ENV })
    const before = sim!.calls().length
    const r = await rollout({ fleet: await fleetOn([sim!], 'web-{1..2}'), env: ENV })
    expect(r.vms.map((v) => v.state)).toEqual(['unchanged', 'unchanged'])
    expect(r.extras).toEqual([{ name: 'web-3', pool: 'p1', uuid: expect.any(String) as string }])
    expect(summary(r)).toContain('web-3 (')
    expect(
      sim!
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
  })

  it('an abort starts no more VMs and reports the rest as skipped', async () => {
    const [sim] = await hosts(1)
    const stop = new AbortController()
    const r = await rollout({
      fleet: await fleetOn([sim!], 'web-{1..4}'),
      env: ENV,
      concurrency: 1,
      signal: stop.signal,
      onEvent: (e) => e.type === 'vm-done' && stop.abort(),
    })
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'skipped', 'skipped', 'skipped'])
    expect(r.ok).toBe(false)
  })

  it('a base that cannot be finished fails the VMs that need it and leaves no untagged VDI', async () => {
    const [sim] = await hosts(1)
    // The upload succeeds, the hash tag that makes it a base does not: it must go.
    sim!.faults.add({ method: 'VDI.add_to_other_config', error: ['INTERNAL_ERROR', 'injected'] })
    const r = await rollout({ fleet: await fleetOn([sim!], 'web-{1..3}'), env: ENV })
    expect(r.vms.map((v) => v.state)).toEqual(['failed', 'failed', 'failed'])
    expect(r.vms[0]!.error!.what).toBe('web-1 was not created: its base disk or golden template could not be made')
    expect(r.bases[0]).toMatchObject({ action: 'upload', state: 'failed' })
    expect(Object.values(sim!.objects().VDI ?? {})).toEqual([])
    expect(sim!.calls()).not.toContain('VM.start')
  })

  it('removes what an interrupted run left of a VM before creating it again', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    // web-2 fails to start and its rollback cannot destroy the VM: as if the run had been killed.
    sim!.faults.add({ method: 'VM.start', nth: 2, error: ['INTERNAL_ERROR', 'power cut'] })
    sim!.faults.add({ method: 'VM.destroy', error: ['INTERNAL_ERROR', 'still no power'] })
    const first = await rollout({ fleet, env: ENV, concurrency: 1 })
    expect(first.vms[1]!.error!.kept).toEqual([expect.stringMatching(/^VM web-2 .*still no power/)])
    const names = (): string[] =>
      Object.values(sim!.objects().VM!)
        .filter((v) => !v.is_a_template && !v.is_control_domain)
        .map((v) => String(v.name_label))
    expect(names().sort()).toEqual(['web-1', 'web-2 [xcp-provision: incomplete]'])

    const dry = await rollout({ fleet, env: ENV, dryRun: true })
    expect(dry.vms[1]).toMatchObject({ action: 'create', mac: deriveMac('web-2'), leftovers: [expect.stringMatching(/^VM /)] })
    expect(planDiff(dry)).toContain('      first removes what an interrupted run left: VM ')

    const again = await rollout({ fleet, env: ENV })
    expect(again.vms.map((v) => v.state)).toEqual(['unchanged', 'created'])
    expect(again.vms[1]!.leftovers).toEqual([expect.stringMatching(/^VM /)])
    expect(names().sort()).toEqual(['web-1', 'web-2'])
    expect(
      Object.values(sim!.objects().VIF!)
        .map((v) => v.MAC)
        .sort(),
    ).toEqual([deriveMac('web-1'), deriveMac('web-2')].sort())
  })

  it('a pool it cannot log in to fails only its own VMs', async () => {
    const sims = await hosts(2)
    const fleet = await fleetOn(sims, 'web-{1..4}')
    fleet.pools.p2!.password_env = 'P2_PASSWORD'
    const r = await rollout({ fleet, env: ENV })
    expect(r.vms.map((v) => `${v.name}:${v.state}`)).toEqual(['web-1:created', 'web-2:failed', 'web-3:created', 'web-4:failed'])
    expect(r.vms[1]!.error).toMatchObject({ what: 'No credentials for pool p2', fix: 'set P2_PASSWORD in the environment or in ./.env' })
    expect(r.pools[1]!.error!.why).toBe('P2_PASSWORD is not set')
  })
})
