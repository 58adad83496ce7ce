import { describe, expect, it } from 'vitest'
import { rollout } from '../../src/index.js'
import { MacRegistry } from '../../src/fleet/macs.js'
import type { PoolInventory } from '../../src/fleet/inventory.js'
import { deriveMac } from '../../src/recipe/mac.js'
import { ENV, fleetOn, hosts } from './support.js'

const inventory = (macs: string[]): PoolInventory => ({
  vms: {},
  vdis: {},
  srs: {},
  pbds: {},
  hosts: {},
  networks: {},
  vifs: Object.fromEntries(macs.map((MAC, i) => [`OpaqueRef:vif${i}`, { uuid: `vif-${i}`, VM: 'OpaqueRef:vm', MAC, device: '0', network: 'OpaqueRef:net' }])),
})

describe('MACs', () => {
  it('re-derives a colliding MAC deterministically with a salt', () => {
    const taken = [deriveMac('web-01').toUpperCase(), deriveMac('web-01', 1)]
    const a = new MacRegistry([['p', inventory(taken)]])
    const b = new MacRegistry([['p', inventory(taken)]])
    expect(a.claimDerived('web-01')).toBe(deriveMac('web-01', 2))
    expect(b.claimDerived('web-01')).toBe(deriveMac('web-01', 2))
    expect(a.claimDerived('web-02')).toBe(deriveMac('web-02'))
  })

  it('checks every VIF of every pool, and refuses an explicit MAC someone has', () => {
    const r = new MacRegistry([
      ['a', inventory(['00:16:3e:00:00:01'])],
      ['b', inventory(['00:16:3e:00:00:02'])],
    ])
    expect(() => r.claimExplicit('00:16:3E:00:00:02', 'db')).toThrow('MAC 00:16:3E:00:00:02 for db is already in use')
    expect(r.claimExplicit('00:16:3e:00:00:03', 'db')).toBe('00:16:3e:00:00:03')
    expect(() => r.claimExplicit('00:16:3e:00:00:03', 'db2')).toThrow('already in use')
  })

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
