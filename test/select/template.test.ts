import { describe, expect, it } from 'vitest'
import { templateByName } from '../../src/select/template.js'

const vm = (uuid: string, name_label: string, kind: 'template' | 'snapshot' | 'vm' | 'dom0' = 'template') => ({
  uuid,
  name_label,
  is_a_template: kind === 'template' || kind === 'snapshot',
  is_a_snapshot: kind === 'snapshot',
  is_control_domain: kind === 'dom0',
})

const pool = {
  'OpaqueRef:t1': vm('t1', 'Other install media'),
  'OpaqueRef:t2': vm('t2', 'Debian'),
  'OpaqueRef:t3': vm('t3', 'Debian'),
  'OpaqueRef:s1': vm('s1', 'Snap', 'snapshot'),
  'OpaqueRef:v1': vm('v1', 'Guest', 'vm'),
  'OpaqueRef:d0': vm('d0', 'Control domain', 'dom0'),
}

describe('template by name', () => {
  it('picks the one template with that exact name', () => {
    expect(templateByName(pool, 'Other install media')).toEqual({ ok: true, value: { ref: 'OpaqueRef:t1', record: pool['OpaqueRef:t1'] } })
  })

  it.each([
    { name: 'Debian', code: 'ambiguous', what: '2 templates are named "Debian"', why: 'candidates: t2, t3', fix: /rename/ },
    { name: 'debian', code: 'not-found', what: 'No template named "debian"', why: /exact and case-sensitive/, fix: /xe template-list/ },
    { name: 'Snap', code: 'not-found', what: 'No template named "Snap"', why: /no template/, fix: /template in the recipe/ },
    { name: 'Guest', code: 'not-found', what: 'No template named "Guest"', why: /no template/, fix: /template in the recipe/ },
    { name: 'Control domain', code: 'not-found', what: 'No template named "Control domain"', why: /no template/, fix: /template in the recipe/ },
  ])('refuses "$name": $code', ({ name, code, what, why, fix }) => {
    const c = templateByName(pool, name)
    if (c.ok) throw new Error(`chose ${c.value.ref}`)
    expect(c.refusal).toMatchObject({ code, what })
    if (typeof why === 'string') expect(c.refusal.why).toBe(why)
    else expect(c.refusal.why).toMatch(why)
    expect(c.refusal.fix).toMatch(fix)
  })
})
