import { describe, expect, it } from 'vitest'
import { rollout } from '../../src/index.js'
import { deriveMac } from '../../src/select/mac.js'
import { ENV, fleetOn, hosts } from './support.js'

// The registry's rules (salts, case, every pool) are unit-tested in test/select/mac.test.ts.
describe('MACs in a rollout', () => {
  it('an explicit MAC wins over a derived one; a MAC already on the pool fails only that VM', async () => {
    const [sim] = await hosts(1)
    const first = await rollout({ fleet: await fleetOn([sim!], ['web-1']), env: ENV })
    const taken = first.vms[0]!.mac!
    const fleet = await fleetOn([sim!], ['web-1', 'web-2', 'web-3', 'web-4'], {
      overrides: { 'web-3': { mac: deriveMac('web-2') }, 'web-4': { mac: taken } },
    })
    const r = await rollout({ fleet, env: ENV })
    const by = new Map(r.vms.map((v) => [v.name, v]))
    expect(by.get('web-1')!.state).toBe('unchanged')
    expect(by.get('web-3')!.mac).toBe(deriveMac('web-2'))
    expect(by.get('web-2')!.mac).toBe(deriveMac('web-2', 1))
    expect(by.get('web-4')!.state).toBe('failed')
    expect(by.get('web-4')!.error!.what).toBe(`MAC ${taken} for web-4 is already in use`)
    const macs = Object.values(sim!.objects().VIF!).map((v) => v.MAC)
    expect(new Set(macs).size).toBe(macs.length)
  })
})
