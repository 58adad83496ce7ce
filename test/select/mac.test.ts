import { describe, expect, it } from 'vitest'
import { deriveMac, MAC_PATTERN } from '../../src/recipe/mac.js'

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
