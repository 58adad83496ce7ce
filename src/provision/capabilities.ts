import type { HostVersionRecord } from '../xapi/records.js'

/** What a host can run, derived from what it reports about itself; each rule names its source. */
export interface Capabilities {
  hvm: boolean
  pv: boolean
  pv32: boolean
  pvh: boolean
  uefi: boolean
  /** The pool holds UEFI certificates, so platform:secureboot true can boot. */
  secure_boot_certificates: boolean
  import_formats: string[]
}

export interface HostFacts {
  host: Pick<HostVersionRecord, 'name_label' | 'software_version' | 'API_version_major' | 'API_version_minor' | 'capabilities'>
  /** pool.uefi_certificates (or custom_uefi_certificates) is not empty. */
  poolHasUefiCertificates: boolean
}

type Rule = { source: string; holds: (f: HostFacts) => boolean }

const api = (f: HostFacts, major: number, minor: number): boolean => f.host.API_version_major > major || (f.host.API_version_major === major && f.host.API_version_minor >= minor)
const xen = (f: HostFacts, cap: string): boolean => f.host.capabilities.includes(cap)
/** "3.4.0" >= "3.4.0"; hosts without platform_version are older than any with it (xapi_globs.ml). */
const platformAtLeast = (f: HostFacts, want: string): boolean => compareVersions(f.host.software_version.platform_version ?? '0.0.0', want) >= 0
const xapiAtLeast = (f: HostFacts, want: string): boolean => compareVersions(f.host.software_version.xapi ?? '0', want) >= 0

/** The one table: a capability, the rule that decides it, and where the rule comes from. */
export const RULES: Record<Exclude<keyof Capabilities, 'import_formats'>, Rule> & { vhd: Rule; qcow2: Rule } = {
  hvm: {
    source: 'xapi ocaml/xapi/helpers.ml host_supports_hvm: an entry containing "hvm" in host.capabilities (Xen arch_get_xen_caps: hvm-3.0-x86_64 when VT-x/AMD-V is on)',
    holds: (f) => f.host.capabilities.some((c) => c.includes('hvm')),
  },
  pv: {
    source:
      'Xen arch_get_xen_caps: xen-3.0-x86_64 when built with CONFIG_PV; XCP-ng docs/releases/release-8-3.md: PV "completely removed … they won\'t run at all" on the platform_version 3.4.0 generation (branding-xcp-ng 8.3.0-3, shared with XenServer 8, whose templates keep PV only as pv_in_pvh)',
    holds: (f) => xen(f, 'xen-3.0-x86_64') && !platformAtLeast(f, '3.4.0'),
  },
  pv32: {
    source:
      'Xen arch_get_xen_caps: xen-3.0-x86_32p only with opt_pv32; XenServer xen.spec 4.13.3-10.14 "Disable 32bit PV guests by default" (XCP-ng 8.2 update of 2022-01-17), PV32 compiled out in Xen 4.17',
    holds: (f) => RULES.pv.holds(f) && xen(f, 'xen-3.0-x86_32p'),
  },
  pvh: {
    source:
      'xapi datamodel_vm.ml: VM.set_domain_type published in kolkata (API 2.10); PVH runs in an HVM container, so it needs HVM (XCP-ng forum topic 10862: "very experimental, not officially supported")',
    holds: (f) => api(f, 2, 10) && RULES.hvm.holds(f),
  },
  uefi: {
    source: 'xapi datamodel_vm.ml: VM.NVRAM (UEFI variables) published in naples (API 2.12, Citrix Hypervisor 8.0 / XCP-ng 8.0); xapi_xenops.ml firmware_of_vm reads HVM-boot-params firmware',
    holds: (f) => api(f, 2, 12) && RULES.hvm.holds(f),
  },
  secure_boot_certificates: {
    source: 'xapi datamodel_pool.ml: pool.uefi_certificates (quebec, API 2.14); xapi_vm.ml update_platform_secureboot turns "auto" on only when helpers.ml get_active_uefi_certificates is not empty',
    holds: (f) => api(f, 2, 14) && f.poolHasUefiCertificates,
  },
  vhd: {
    source: 'xapi ocaml/xapi/import_raw_vdi.ml: format=vhd through vhd-tool (XenServer 6.5, API 2.3, and later)',
    holds: (f) => api(f, 2, 3),
  },
  qcow2: {
    source: 'xapi ocaml/xapi/importexport.ml: format=qcow2 since xapi v25.27.0 (software_version xapi "25.27")',
    holds: (f) => xapiAtLeast(f, '25.27'),
  },
}

export function capabilitiesOf(f: HostFacts): Capabilities {
  return {
    hvm: RULES.hvm.holds(f),
    pv: RULES.pv.holds(f),
    pv32: RULES.pv32.holds(f),
    pvh: RULES.pvh.holds(f),
    uefi: RULES.uefi.holds(f),
    secure_boot_certificates: RULES.secure_boot_certificates.holds(f),
    import_formats: ['raw', ...(RULES.vhd.holds(f) ? ['vhd'] : []), ...(RULES.qcow2.holds(f) ? ['qcow2'] : [])],
  }
}

/** "XCP-ng 8.3.0" from software_version; XCP 1.x leaves product_version empty and carries platform_version. */
export function releaseName(sv: Record<string, string>): string {
  const brand = sv.product_brand ?? sv.platform_name ?? 'XAPI host'
  const version = sv.product_version ?? sv.platform_version ?? ''
  return `${brand} ${version}`.trim()
}

/** Dotted numeric versions; a missing part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => parseInt(p, 10) || 0)
  const pb = b.split('.').map((p) => parseInt(p, 10) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
