import type { Value } from './datamodel/model.js'
import { otherInstallMedia } from './inventory.js'
import { linuxTemplate } from './profile-templates.js'

/**
 * Simulated releases (docs/simulator.md "Profiles"): what a host of that release says
 * about itself (software_version keys as xapi's create_misc.ml builds them, API
 * version, Xen's capabilities), the templates it ships, and what its domain builder
 * refuses. Newest first: `--host sim` walks this list for the first that runs a recipe.
 */
export interface Profile {
  name: string
  /** For "the newest profile that can run the recipe". */
  released: string
  software_version: Record<string, string>
  api: { major: number; minor: number }
  /** host.capabilities: Xen's XENVER_capabilities split on spaces. */
  capabilities: string[]
  /** PV domains the domain builder refuses (xenopsd → INTERNAL_ERROR); see vm-domain.ts. */
  refusesPv: 'none' | 'pv32' | 'all'
  templates: () => Record<string, Value>[]
}

const HVM_CAPS = ['hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64']

/** XCP-ng removed viridian from "Other install media": it confuses non-Windows guests. */
const xcpngOtherInstallMedia = (): Record<string, Value> => {
  const t = otherInstallMedia()
  const platform = { ...(t.platform as Record<string, string>) }
  delete platform.viridian
  return { ...t, platform }
}

export const PROFILES: Profile[] = [
  {
    name: 'xcp-ng-8.3',
    released: '2024-10-07',
    // branding-xcp-ng 8.3.0 (PLATFORM_VERSION 3.4.0); xcp-ng-rpms/xapi 8.3: xapi 26.1.3, API 2.21.
    software_version: {
      product_version: '8.3.0',
      product_version_text: '8.3',
      product_version_text_short: '8.3',
      platform_name: 'XCP',
      platform_version: '3.4.0',
      product_brand: 'XCP-ng',
      xapi: '26.1',
      build_number: 'cloud',
      git_id: '0',
      hostname: 'localhost',
      date: '2026-03-11',
      xapi_build: '26.1.3',
      xen: '4.17.6-2',
      linux: '4.19.0+1',
      xencenter_min: '2.21',
      xencenter_max: '2.21',
      network_backend: 'openvswitch',
      db_schema: '5.786',
    },
    api: { major: 2, minor: 21 },
    // Xen 4.17 as XenServer 8 builds it: PV32 compiled out (xen.spec 4.17.3-1); dom0 is still PV.
    capabilities: ['xen-3.0-x86_64', ...HVM_CAPS],
    refusesPv: 'all',
    templates: () => [xcpngOtherInstallMedia(), linuxTemplate('generic-linux-uefi'), linuxTemplate('generic-linux-bios'), linuxTemplate('debian-12'), linuxTemplate('debian-13')],
  },
  {
    name: 'xenserver-8',
    released: '2023-12-11',
    // datamodel_types.ml: nile = API 2.21, "XenServer 8"; product_version 8.4.0.
    software_version: {
      product_version: '8.4.0',
      product_version_text: '8',
      product_version_text_short: '8',
      platform_name: 'XCP',
      platform_version: '3.4.0',
      product_brand: 'XenServer',
      xapi: '25.33',
      build_number: '',
      hostname: 'localhost',
      date: '2025-10-01',
      xapi_build: '25.33.1',
      xen: '4.17.5-20',
      linux: '4.19.0+1',
      xencenter_min: '2.21',
      xencenter_max: '2.21',
      network_backend: 'openvswitch',
      db_schema: '5.786',
    },
    api: { major: 2, minor: 21 },
    capabilities: ['xen-3.0-x86_64', ...HVM_CAPS],
    refusesPv: 'all',
    templates: () => [otherInstallMedia(), linuxTemplate('debian-12'), linuxTemplate('ubuntu-24.04')],
  },
  {
    name: 'xcp-ng-8.2',
    released: '2020-11-18',
    // branding-xcp-ng 8.2.1; xapi 1.249 (xapi_version_major.minor "1.20"); datamodel_types.ml: stockholm = API 2.15.
    software_version: {
      product_version: '8.2.1',
      product_version_text: '8.2',
      product_version_text_short: '8.2',
      platform_name: 'XCP',
      platform_version: '3.2.1',
      product_brand: 'XCP-ng',
      xapi: '1.20',
      build_number: 'release/yangtze/master/58',
      hostname: 'localhost',
      date: '2024-10-16',
      xen: '4.13.5-9.44',
      linux: '4.19.0+1',
      xencenter_min: '2.16',
      xencenter_max: '2.16',
      network_backend: 'openvswitch',
      db_schema: '5.603',
    },
    api: { major: 2, minor: 15 },
    // 32-bit PV off by default since the 2022-01 update (xen.spec 4.13.3-10.14: boot Xen with pv=32 to restore).
    capabilities: ['xen-3.0-x86_64', ...HVM_CAPS],
    refusesPv: 'pv32',
    templates: () => [xcpngOtherInstallMedia(), linuxTemplate('debian-11')],
  },
  {
    name: 'xcp-1.1',
    released: '2011-12-13',
    // The HOWTO's host: XCP 1.1 on the XenServer 6.0 base (datamodel_types.ml: boston = API 1.9), xapi 1.3, Xen 4.1.
    software_version: {
      platform_name: 'XCP',
      platform_version: '1.4.90',
      product_brand: 'XCP',
      product_version: '1.1.0',
      xapi: '1.3',
      build_number: '50674c',
      hostname: 'localhost',
      date: '2011-12-13',
      xen: '4.1.1',
      linux: '2.6.32.12-0.7.1.xs1.4.90.530.170661xen',
      xencenter_min: '1.9',
      xencenter_max: '1.9',
      network_backend: 'openvswitch',
    },
    api: { major: 1, minor: 9 },
    capabilities: ['xen-3.0-x86_64', 'xen-3.0-x86_32p', ...HVM_CAPS],
    refusesPv: 'none',
    templates: () => [legacyOtherInstallMedia()],
  },
]

export const DEFAULT_PROFILE = 'xcp-ng-8.3'
export const PROFILE_NAMES = PROFILES.map((p) => p.name)

export function profileByName(name: string): Profile {
  const p = PROFILES.find((x) => x.name === name)
  if (!p) throw new Error(`no simulator profile "${name}" (profiles: ${PROFILE_NAMES.join(', ')})`)
  return p
}

/** Before UEFI (naples) there was no firmware key and no secureboot; boot order only. */
function legacyOtherInstallMedia(): Record<string, Value> {
  const t = otherInstallMedia()
  return { ...t, HVM_boot_params: { order: 'cd' }, platform: { nx: 'false', acpi: 'true', apic: 'true', pae: 'true', viridian: 'true' }, domain_type: 'unspecified' }
}
