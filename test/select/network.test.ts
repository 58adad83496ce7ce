import { describe, expect, it } from 'vitest'
import { networkByBridge } from '../../src/select/network.js'

const nets = { 'OpaqueRef:n0': { bridge: 'xenbr0', MTU: 1500 }, 'OpaqueRef:n1': { bridge: 'xenbr1', MTU: 9000 } }

describe('network by bridge', () => {
  it.each([
    ['xenbr0', 'OpaqueRef:n0'],
    ['xenbr1', 'OpaqueRef:n1'],
  ])('%s is %s', (bridge, ref) => {
    const c = networkByBridge(nets, bridge, 'recipe')
    expect(c.ok && c.value.ref).toBe(ref)
  })

  it.each([
    { networks: nets, source: 'recipe' as const, why: 'bridges here: xenbr0, xenbr1', fix: 'set network.bridge in the recipe to one of those' },
    { networks: nets, source: 'fleet' as const, why: 'bridges here: xenbr0, xenbr1', fix: 'set network in the fleet file (or network.bridge in the recipe) to one of those' },
    { networks: {}, source: 'recipe' as const, why: 'bridges here: none', fix: 'set network.bridge in the recipe to one of those' },
  ])('refuses a missing bridge ($source, $why)', ({ networks, source, why, fix }) => {
    const c = networkByBridge(networks, 'xenbr9', source)
    expect(c).toEqual({ ok: false, refusal: { code: 'not-found', what: 'No network on bridge xenbr9', why, fix } })
  })
})
