import { describe, expect, it } from 'vitest'
import { STEP, STEPS, type StepId } from '../../src/index.js'

describe('steps by name', () => {
  it('every step has its own id, and STEP holds each one under it', () => {
    const ids = STEPS.map((s) => s.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(Object.keys(STEP).sort()).toEqual([...ids].sort())
    for (const s of STEPS) expect(STEP[s.id]).toBe(s)
  })

  it('names the steps the fleet runs on its own (base upload, golden template, each clone)', () => {
    const fleet: StepId[] = [
      'upload',
      'vm.install',
      'vm.pv',
      'vm.hvm',
      'vm.pvh',
      'vm.other-config',
      'vm.memory',
      'vm.vcpus',
      'vif.create',
      'vbd.create',
      'drive.create',
      'drive.attach',
      'vm.xenstore',
      'vm.start',
      'wait',
      'drive.remove',
      'drive.finish',
    ]
    for (const id of fleet) expect(STEP[id].id).toBe(id)
    // @ts-expect-error a name provision has no step for does not compile (tsc checks the tests)
    const wrong: StepId = 'vm.vcpu'
    expect(STEP[wrong]).toBeUndefined()
  })
})
