import { describe, expect, it } from 'vitest'
import { withSimulator, connectTo } from '../support/simulator.js'
import { buildingName } from '../../src/provision/marks.js'
import * as VM from '../../src/xapi/vm.js'
import * as VDI from '../../src/xapi/vdi.js'
import type { ProvisionEvent } from '../../src/provision/types.js'
import { inventory, runProvision, syntheticImage } from './support.js'

const NAME = 'FreeBSD-9.0'

describe('the last step: the disk loses its mark before the VM gets its name', () => {
  it('takes the mark off first, so no finished VM ever keeps a disk marked "incomplete"', async () => {
    const sim = await withSimulator()
    await runProvision(sim, await syntheticImage(1))
    const calls = sim.calls()
    const unmark = calls.lastIndexOf('VDI.remove_from_other_config')
    expect(unmark).toBeGreaterThan(-1)
    expect(unmark).toBeLessThan(calls.lastIndexOf('VM.set_name_label'))
  })

  it('killed between the two: the re-run removes the unnamed VM with its unmarked disk and ends with one VM, nothing leaked', async () => {
    const sim = await withSimulator()
    const first = await runProvision(sim, await syntheticImage(1))
    const x = await connectTo(sim)
    // The state a kill between the two calls leaves: disk unmarked, VM still under its temporary name.
    const [vm] = await VM.get_by_name_label(x, NAME)
    await VM.set_name_label(x, vm!, buildingName(NAME))
    const before = inventory(sim)
    const events: ProvisionEvent[] = []
    const second = await runProvision(sim, await syntheticImage(1), { events })
    const after = inventory(sim)
    expect(after.vms).toHaveLength(1)
    expect(after.vdis).toHaveLength(before.vdis.length)
    expect(after.vdis).not.toContain(first.vdi.ref)
    expect(second.vm.name).toBe(NAME)
  })

  it('a finished VM destroyed by hand: its disk (unmarked, attached to nothing) is left in place by the next run', async () => {
    const sim = await withSimulator()
    const first = await runProvision(sim, await syntheticImage(1))
    const x = await connectTo(sim)
    const [vm] = await VM.get_by_name_label(x, NAME)
    await VM.destroy(x, vm!) // as xe vm-destroy: the VBDs go, the VDI stays
    await runProvision(sim, await syntheticImage(2))
    expect(await VDI.get_by_uuid(x, first.vdi.uuid)).toBe(first.vdi.ref)
  })
})
