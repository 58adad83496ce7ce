import { describe, expect, it } from 'vitest'
import { RecipeSchema, type RecipeInput } from '../../src/recipe/schema.js'
import { capabilitiesOf, RULES, type HostFacts } from '../../src/provision/capabilities.js'
import { checkRunnable } from '../../src/provision/runnable.js'
import { platformFor } from '../../src/provision/boot-steps.js'
import { PROFILES } from '../../mocks/profiles.js'

const base: RecipeInput = {
  name: 'g',
  vdi: { virtual_size: '1GiB' },
  memory: { static_min: '128MiB', static_max: '256MiB', dynamic_min: '256MiB', dynamic_max: '256MiB' },
}
const recipe = (extra: Partial<RecipeInput>) => RecipeSchema.parse({ ...base, ...extra })
const facts = (name: string, certs = false): HostFacts => {
  const p = PROFILES.find((x) => x.name === name)!
  return {
    host: { name_label: name, software_version: p.software_version, API_version_major: p.api.major, API_version_minor: p.api.minor, capabilities: p.capabilities },
    poolHasUefiCertificates: certs,
  }
}

describe('boot modes in the recipe', () => {
  it("defaults to pv, the HOWTO's path, so existing recipes stay valid; hvm defaults to BIOS, Secure Boot off, disk first", () => {
    expect(recipe({}).boot).toEqual({ mode: 'pv' })
    expect(recipe({ boot: { mode: 'hvm' } }).boot).toEqual({ mode: 'hvm', firmware: 'bios', secure_boot: false, order: 'c' })
  })

  it('refuses Secure Boot with BIOS, a bad boot order, and PV kernel arguments on an hvm guest, naming the field', () => {
    const issues = (extra: Partial<RecipeInput>): string[] => RecipeSchema.safeParse({ ...base, ...extra }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []
    expect(issues({ boot: { mode: 'hvm', firmware: 'bios', secure_boot: true } })).toEqual(['boot.secure_boot: needs firmware: uefi (Secure Boot is a UEFI feature)'])
    expect(issues({ boot: { mode: 'hvm', order: 'x' } })[0]).toMatch(/^boot.order: must be letters c \(disk\)/)
    expect(issues({ boot: { mode: 'hvm' }, pv: { args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' } })[0]).toMatch(/^pv: is for boot.mode pv or pvh/)
  })

  it('merges the platform: template, then the mode (secureboot, a device model that fits the firmware), then the recipe (null removes)', () => {
    const r = recipe({ boot: { mode: 'hvm', firmware: 'bios' }, platform: { viridian: null, vga: 'std' } })
    expect(platformFor(r, { viridian: 'true', 'device-model': 'qemu-upstream-uefi', acpi: '1' })).toEqual({ 'device-model': 'qemu-upstream-compat', acpi: '1', secureboot: 'false', vga: 'std' })
  })
})

describe('the capability table, per simulated release', () => {
  it('every rule names its source', () => {
    for (const rule of Object.values(RULES)) expect(rule.source.length).toBeGreaterThan(20)
  })

  it.each([
    ['xcp-ng-8.3', { hvm: true, pv: false, pv32: false, pvh: true, uefi: true, import_formats: ['raw', 'vhd', 'qcow2'] }],
    ['xenserver-8', { pv: false, uefi: true, import_formats: ['raw', 'vhd', 'qcow2'] }],
    ['xcp-ng-8.2', { hvm: true, pv: true, pv32: false, pvh: true, uefi: true, import_formats: ['raw', 'vhd'] }],
    ['xcp-1.1', { hvm: true, pv: true, pv32: true, pvh: false, uefi: false, secure_boot_certificates: false, import_formats: ['raw'] }],
  ] as const)('%s', (name, want) => {
    expect(capabilitiesOf(facts(name))).toMatchObject(want)
  })

  it('refuses what the release cannot run, with what/why/fix, and warns about what runs with a caveat', () => {
    const pv = recipe({})
    expect(checkRunnable(pv, capabilitiesOf(facts('xcp-ng-8.3')), 'XCP-ng 8.3.0', 64).refusal?.fix).toContain('use an HVM recipe')
    expect(checkRunnable(pv, capabilitiesOf(facts('xcp-ng-8.2')), 'XCP-ng 8.2.1', 64).refusal).toBeNull()
    expect(checkRunnable(pv, capabilitiesOf(facts('xcp-ng-8.2')), 'XCP-ng 8.2.1', 32).refusal?.what).toBe('XCP-ng 8.2.1 cannot run a 32-bit PV kernel')
    expect(checkRunnable(pv, capabilitiesOf(facts('xcp-1.1')), 'XCP 1.1.0', 32).refusal).toBeNull()
    const uefi = recipe({ boot: { mode: 'hvm', firmware: 'uefi', secure_boot: true } })
    expect(checkRunnable(uefi, capabilitiesOf(facts('xcp-1.1')), 'XCP 1.1.0', null).refusal?.what).toContain('cannot boot a guest with UEFI firmware')
    expect(checkRunnable(uefi, capabilitiesOf(facts('xcp-ng-8.3')), 'XCP-ng 8.3.0', null).refusal?.what).toBe('Secure Boot cannot be turned on in this pool')
    expect(checkRunnable(uefi, capabilitiesOf(facts('xcp-ng-8.3', true)), 'XCP-ng 8.3.0', null).refusal).toBeNull()
    expect(checkRunnable(recipe({ boot: { mode: 'pvh' } }), capabilitiesOf(facts('xcp-ng-8.3')), 'XCP-ng 8.3.0', 64).warnings[0]).toContain('experimental')
  })
})
