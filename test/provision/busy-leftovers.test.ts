import { describe, expect, it } from 'vitest'
import { withSimulator, connectTo } from '../support/simulator.js'
import { UserError } from '../../src/errors.js'
import { buildingName } from '../../src/provision/leftovers.js'
import type { ProvisionEvent } from '../../src/provision/types.js'
import { inventory, runProvision, syntheticImage, warnings } from './support.js'

describe("an interrupted run's leftover still in an operation XAPI runs for it", () => {
  it('is waited for up to the bound, then the run stops with what/why/fix and removes nothing', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    // What a run killed during VM.start leaves: its VM, under the temporary name, still starting.
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, buildingName('FreeBSD-9.0'))
    await x.callAsync('VM.provision', vm)
    // A start that does not end while the re-run waits: held until the test is over.
    const hold = sim.faults.hold('VM.start')
    const task = await x.call<string>('Async.VM.start', vm, false, false)
    await hold.reached
    const events: ProvisionEvent[] = []
    const err = (await runProvision(sim, await syntheticImage(1), { events, waits: { operationMs: 400, pollMs: 50 } }).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.what).toMatch(/^VM [-0-9a-f]+ is still busy$/)
    expect(err.info.why).toContain(`"start" (task ${task})`)
    expect(err.info.fix).toContain('xe task-cancel')
    expect(err.info.fix).toContain('nothing was removed')
    expect(warnings(events).some((w) => w.includes('started by an interrupted run: cancelled it'))).toBe(true)
    expect(inventory(sim).vms).toEqual([vm])
    // The task was asked to stop: the simulator ends it at its next cancellation point.
    expect(sim.objects().task![task]?.status).toBe('cancelling')
    hold.release()
  })

  it('a cancelled start ends, and the re-run removes the VM and the task and provisions', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const vm = await x.callAsync<string>('VM.clone', sim.inventory.template, buildingName('FreeBSD-9.0'))
    await x.callAsync('VM.provision', vm)
    // Held until the re-run has cancelled it, however long the re-run takes to get there.
    const hold = sim.faults.hold('VM.start')
    const task = await x.call<string>('Async.VM.start', vm, false, false)
    await hold.reached
    const release = (async () => {
      while (sim.objects().task?.[task]?.status !== 'cancelling') await new Promise((r) => setTimeout(r, 10))
      hold.release()
    })()
    const events: ProvisionEvent[] = []
    const r = await runProvision(sim, await syntheticImage(1), { events, waits: { pollMs: 50 } })
    await release
    expect(r.vm.name).toBe('FreeBSD-9.0')
    expect(inventory(sim).vms).toEqual([r.vm.ref])
    expect(sim.objects().task?.[task]).toBeUndefined()
    expect(warnings(events).find((w) => w.startsWith('removed what an interrupted earlier run left'))).toContain(`task ${task} ("start" of VM `)
  })
})
