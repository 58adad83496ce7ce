import { describe, expect, it } from 'vitest'
import { roomFor, srByName, srOnHost, type SrRecords, type SrSelector } from '../../src/select/sr.js'
import type { SrRecord } from '../../src/xapi/records.js'

const sr = (uuid: string, name_label: string, shared = false, physical_size = 100, virtual_allocation = 0): SrRecord => ({
  uuid,
  name_label,
  type: shared ? 'nfs' : 'ext',
  shared,
  physical_size,
  virtual_allocation,
  PBDs: [],
})

/** Three hosts; "Local storage" on each (xcp3's unplugged); NFS on all (unplugged on xcp3); "Mixed" local on xcp1 and shared. */
const pool: SrRecords = {
  hosts: { h1: { name_label: 'xcp1' }, h2: { name_label: 'xcp2' }, h3: { name_label: 'xcp3' } },
  srs: {
    l1: sr('l1', 'Local storage'),
    l2: sr('l2', 'Local storage'),
    l3: sr('l3', 'Local storage'),
    nfs: sr('nfs', 'NFS', true),
    m1: sr('m1', 'Mixed'),
    ms: sr('ms', 'Mixed', true),
    s1: sr('s1', 'Two shared', true),
    s2: sr('s2', 'Two shared', true),
  },
  pbds: Object.fromEntries(
    (
      [
        ['l1', 'h1', true],
        ['l2', 'h2', true],
        ['l3', 'h3', false],
        ['nfs', 'h1', true],
        ['nfs', 'h2', true],
        ['nfs', 'h3', false],
        ['m1', 'h1', true],
        ['ms', 'h1', true],
        ['ms', 'h2', true],
        ['s1', 'h1', true],
        ['s2', 'h1', true],
      ] as const
    ).map(([SR, host, currently_attached], i) => [`p${i}`, { SR, host, currently_attached }]),
  ),
}

const h = (n: 1 | 2 | 3) => ({ ref: `h${n}`, name: `xcp${n}` })

describe('the SR on a fixed host (the fleet)', () => {
  it.each([
    { sel: { name_label: 'Local storage' }, host: h(1), want: 'l1' },
    { sel: { name_label: 'Local storage' }, host: h(2), want: 'l2' },
    { sel: { name_label: 'NFS' }, host: h(2), want: 'nfs' },
    { sel: { name_label: 'Mixed' }, host: h(1), want: 'm1', why: 'a local SR of the host wins over a shared one of the same name' },
    { sel: { name_label: 'Mixed' }, host: h(2), want: 'ms' },
    { sel: { name_label: 'ignored', uuid: 'l2' }, host: h(2), want: 'l2' },
  ])('$sel.name_label $sel.uuid on $host.name → $want', ({ sel, host, want }) => {
    const c = srOnHost(pool, sel, host, 'fleet')
    expect(c.ok && c.value.ref).toBe(want)
  })

  it.each([
    { sel: { name_label: 'Local storage' }, host: h(3), code: 'not-found', what: 'No SR "Local storage" on host xcp3', why: /plugged into xcp3/ },
    { sel: { name_label: 'NFS' }, host: h(3), code: 'not-found', what: 'No SR "NFS" on host xcp3', why: /plugged into xcp3/ },
    { sel: { name_label: 'Nope' }, host: h(1), code: 'not-found', what: 'No SR "Nope" on host xcp1', why: /no SR has that name-label/ },
    { sel: { name_label: 'x', uuid: 'l1' }, host: h(2), code: 'not-found', what: 'No SR l1 on host xcp2', why: /plugged into xcp2/ },
    { sel: { name_label: 'Two shared' }, host: h(1), code: 'ambiguous', what: '2 SRs are named "Two shared" on host xcp1', why: /s1 \(nfs, shared, on xcp1\); s2/ },
  ])('refuses $sel.name_label on $host.name: $code', ({ sel, host, code, what, why }) => {
    const c = srOnHost(pool, sel, host, 'fleet')
    if (c.ok) throw new Error(`chose ${c.value.ref}`)
    expect(c.refusal).toMatchObject({ code, what })
    expect(c.refusal.why).toMatch(why)
    expect(c.refusal.fix).toMatch(/fleet file/)
  })
})

describe('the SR by name, host as the tie-breaker (provision)', () => {
  it.each<{ sel: SrSelector; master: string | undefined; want: string }>([
    { sel: { name_label: 'Local storage' }, master: 'h1', want: 'l1' },
    { sel: { name_label: 'Local storage', host: 'xcp2' }, master: 'h1', want: 'l2' },
    { sel: { name_label: 'NFS' }, master: undefined, want: 'nfs' },
    { sel: { name_label: 'NFS', host: 'xcp3' }, master: 'h1', want: 'nfs' },
    { sel: { name_label: 'Mixed' }, master: 'h1', want: 'm1' },
    { sel: { name_label: 'Mixed', host: 'xcp2' }, master: 'h1', want: 'ms' },
  ])('$sel.name_label (host $sel.host, master $master) → $want', ({ sel, master, want }) => {
    const c = srByName(pool, sel, master, 'recipe')
    expect(c.ok && c.value.ref).toBe(want)
  })

  it.each<{ sel: SrSelector; master: string | undefined; code: string; what: string; why: RegExp; fix: RegExp }>([
    { sel: { name_label: 'Nope' }, master: 'h1', code: 'not-found', what: 'No SR "Nope"', why: /case-sensitive/, fix: /xe sr-list/ },
    {
      sel: { name_label: 'Local storage', host: 'xcp9' },
      master: 'h1',
      code: 'ambiguous',
      what: '3 SRs are named "Local storage"',
      why: /^no host is named "xcp9"; candidates: l1 \(ext, on xcp1\)/,
      fix: /sr\.host/,
    },
    { sel: { name_label: 'Local storage', host: 'xcp3' }, master: 'h1', code: 'ambiguous', what: '3 SRs are named "Local storage"', why: /^candidates: .*l3 \(ext, on xcp3\)/, fix: /sr\.uuid/ },
    { sel: { name_label: 'Local storage' }, master: undefined, code: 'ambiguous', what: '3 SRs are named "Local storage"', why: /candidates/, fix: /sr\.host/ },
    { sel: { name_label: 'Two shared' }, master: 'h1', code: 'ambiguous', what: '2 SRs are named "Two shared"', why: /s1 .*s2/, fix: /recipe/ },
  ])('refuses $sel.name_label (host $sel.host): $code', ({ sel, master, code, what, why, fix }) => {
    const c = srByName(pool, sel, master, 'recipe')
    if (c.ok) throw new Error(`chose ${c.value.ref}`)
    expect(c.refusal).toMatchObject({ code, what })
    expect(c.refusal.why).toMatch(why)
    expect(c.refusal.fix).toMatch(fix)
  })
})

describe('room on the SR', () => {
  const full = { ref: 'r', record: sr('u', 'Small', false, 100, 60) }
  it.each([
    { bytes: 40, ok: true },
    { bytes: 41, ok: false },
  ])('$bytes bytes into 40 free: ok=$ok', ({ bytes, ok }) => {
    const c = roomFor(full, bytes, 'recipe')
    expect(c.ok).toBe(ok)
    if (!c.ok)
      expect(c.refusal).toEqual({
        code: 'no-space',
        what: 'SR "Small" has no room for the disk',
        why: 'the VDI needs 41 bytes and the SR has 40 of 100 free',
        fix: expect.stringContaining('shrink vdi.virtual_size'),
      })
  })
})
