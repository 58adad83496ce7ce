import { describe, expect, it } from 'vitest'
import { vcpuOrder } from '../../src/select/vcpus.js'

/** XAPI's rule (VM.set_VCPUs_max / set_VCPUs_at_startup refuse otherwise): 0 < at_startup <= max after every call. */
function replay(max: number, atStartup: number, wanted: number): { max: number; atStartup: number } {
  const vm = { max, atStartup }
  for (const c of vcpuOrder(max, wanted)) {
    if (c.field === 'VCPUs_max') vm.max = c.value
    else vm.atStartup = c.value
    if (!(vm.atStartup > 0 && vm.atStartup <= vm.max)) throw new Error(`INVALID_VALUE after ${c.field}=${c.value}: ${JSON.stringify(vm)}`)
  }
  return vm
}

describe('VCPU order', () => {
  it.each([
    { max: 1, wanted: 4, first: 'VCPUs_max' },
    { max: 4, wanted: 4, first: 'VCPUs_max' },
    { max: 4, wanted: 2, first: 'VCPUs_at_startup' },
    { max: 8, wanted: 1, first: 'VCPUs_at_startup' },
  ])('$max → $wanted sets $first first', ({ max, wanted, first }) => {
    const calls = vcpuOrder(max, wanted)
    expect(calls.map((c) => c.field)).toEqual(first === 'VCPUs_max' ? ['VCPUs_max', 'VCPUs_at_startup'] : ['VCPUs_at_startup', 'VCPUs_max'])
    expect(calls.every((c) => c.value === wanted)).toBe(true)
  })

  it("keeps XAPI's invariant after every call, for every start and target from 1 to 8", () => {
    for (let max = 1; max <= 8; max++) {
      for (let at = 1; at <= max; at++) for (let want = 1; want <= 8; want++) expect(replay(max, at, want)).toEqual({ max: want, atStartup: want })
    }
  })
})
