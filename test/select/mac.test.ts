import { describe, expect, it } from 'vitest'
import { deriveMac, MAC_PATTERN, MacRegistry, type VifSource } from '../../src/select/mac.js'
import { orThrow } from '../../src/select/choice.js'

describe('MAC derivation', () => {
  it('gives the Xen OUI plus three bytes, the same on every run', () => {
    const mac = deriveMac('FreeBSD-9.0')
    expect(mac).toMatch(MAC_PATTERN)
    expect(mac.startsWith('00:16:3e:')).toBe(true)
    expect(deriveMac('FreeBSD-9.0')).toBe(mac)
  })

  it('differs between names and keeps the fourth byte below 0x80 like libxl', () => {
    const macs = new Set(Array.from({ length: 500 }, (_, i) => deriveMac(`web-${i}`)))
    expect(macs.size).toBe(500)
    for (const m of macs) expect(parseInt(m.split(':')[3]!, 16)).toBeLessThan(0x80)
  })

  it('is pinned: a change here would change every existing VM MAC', () => {
    expect(deriveMac('FreeBSD-9.0')).toMatchInlineSnapshot(`"00:16:3e:2e:71:43"`)
  })
})

const vifs = (macs: string[], vm = 'OpaqueRef:vm'): VifSource['vifs'] => Object.fromEntries(macs.map((MAC, i) => [`OpaqueRef:vif-${MAC}`, { uuid: `vif-${i}`, VM: vm, MAC }]))

describe('MacRegistry', () => {
  it('re-derives a colliding MAC deterministically with a salt (the fleet)', () => {
    const taken = [deriveMac('web-01').toUpperCase(), deriveMac('web-01', 1)]
    const a = new MacRegistry([{ pool: 'p', vifs: vifs(taken) }])
    const b = new MacRegistry([{ pool: 'p', vifs: vifs(taken) }])
    expect(orThrow(a.claimDerived('web-01', true, 'fleet'))).toBe(deriveMac('web-01', 2))
    expect(orThrow(b.claimDerived('web-01', true, 'fleet'))).toBe(deriveMac('web-01', 2))
    expect(orThrow(a.claimDerived('web-02', true, 'fleet'))).toBe(deriveMac('web-02'))
  })

  it('checks every VIF of every pool, case-blind, and hands out each MAC once', () => {
    const r = new MacRegistry([
      { pool: 'a', vifs: vifs(['00:16:3e:00:00:01']) },
      { pool: 'b', vifs: vifs(['00:16:3e:00:00:02']), vms: { 'OpaqueRef:vm': { name_label: 'old' } } },
    ])
    expect(() => orThrow(r.claimExplicit('00:16:3E:00:00:02', 'db', 'fleet'))).toThrow('MAC 00:16:3E:00:00:02 for db is already in use')
    expect(orThrow(r.claimExplicit('00:16:3E:00:00:03', 'db', 'fleet'))).toBe('00:16:3e:00:00:03')
    expect(() => orThrow(r.claimExplicit('00:16:3e:00:00:03', 'db2', 'fleet'))).toThrow('already in use')
    expect(r.ownerOf('00:16:3E:00:00:02')).toBe('VIF vif-0 of VM "old" in pool b')
  })

  it('frees the MACs of VMs about to be removed', () => {
    const mac = deriveMac('web')
    const r = new MacRegistry([{ vifs: vifs([mac], 'OpaqueRef:leftover') }], new Set(['OpaqueRef:leftover']))
    expect(r.claimDerived('web', false, 'recipe')).toEqual({ ok: true, value: mac })
  })

  const mac = deriveMac('web')
  const refusals: { name: string; claim: (r: MacRegistry) => ReturnType<MacRegistry['claimDerived']>; what: string; why: RegExp; fix: RegExp }[] = [
    {
      name: 'explicit, recipe',
      claim: (r) => r.claimExplicit(mac.toUpperCase(), undefined, 'recipe'),
      what: `MAC ${mac.toUpperCase()} is already in use`,
      why: /^VIF vif-0 of VM OpaqueRef:vm has it; two VIFs/,
      fix: /network\.mac in the recipe/,
    },
    { name: 'explicit, fleet', claim: (r) => r.claimExplicit(mac, 'db', 'fleet'), what: `MAC ${mac} for db is already in use`, why: /has it/, fix: /for db in the fleet file's overrides/ },
    { name: 'derived, unsalted (provision)', claim: (r) => r.claimDerived('web', false, 'recipe'), what: `MAC ${mac} is already in use`, why: /vif-0/, fix: /--name/ },
  ]
  it.each(refusals)('refuses a taken MAC: $name', ({ claim, what, why, fix }) => {
    const c = claim(new MacRegistry([{ vifs: vifs([mac]) }]))
    if (c.ok) throw new Error(`chose ${c.value}`)
    expect(c.refusal.code).toBe('mac-taken')
    expect(c.refusal.what).toBe(what)
    expect(c.refusal.why).toMatch(why)
    expect(c.refusal.fix).toMatch(fix)
  })

  it('gives up after 1001 salts with a refusal, not a loop', () => {
    const all = Array.from({ length: 1001 }, (_, s) => deriveMac('web', s))
    const c = new MacRegistry([{ vifs: vifs(all) }]).claimDerived('web', true, 'fleet')
    expect(c.ok).toBe(false)
    if (!c.ok) expect(c.refusal.what).toBe('No free derived MAC for web')
  })
})
