import { randomUUID } from 'node:crypto'
import type { Store } from './store.js'
import type { Value } from './datamodel/model.js'
import type { PoolSpecT } from './inventory-file.js'
import { DEFAULT_PROFILE, profileByName, type Profile } from './profiles.js'
import { seedHostHardware, seedRoles } from './inventory-hardware.js'

const GiB = 1024 ** 3
const MiB = 1024 ** 2

export interface InventoryHost {
  ref: string
  name: string
  address: string
  /** This host's own "Local storage" SR. */
  localSr: string
}

export interface Inventory {
  pool: string
  /** The master. */
  host: string
  /** The master's "Local storage". */
  localSr: string
  /** The first network (xenbr0 by default). */
  network: string
  template: string
  /** The release every host of the pool runs (mocks/profiles.ts). */
  profile: Profile
  hosts: InventoryHost[]
  /** Shared SRs by name. */
  sharedSrs: Record<string, string>
}

/**
 * Builds a pool in an empty store, as a freshly installed XCP-ng pool looks: per host
 * a host record, dom0 and an ext "Local storage" SR (VDI sizes round to 2 MiB like a
 * real VHD SR) plugged through a PBD; then the shared SRs with a PBD on every host, the
 * networks, the pool itself, and the built-in "Other install media" template.
 */
export function buildPool(store: Store, spec: PoolSpecT, profileName = spec.profile ?? DEFAULT_PROFILE): Inventory {
  const profile = profileByName(profileName)
  const hosts = spec.hosts.map((h): InventoryHost & { dom0: string } => {
    const ref = createHost(store, h.name, h.address, profile)
    const localSr = createSr(store, {
      name_label: 'Local storage',
      type: 'ext',
      shared: false,
      physical_size: h.localSrSize,
      other_config: { 'i18n-key': 'local-storage' },
      sm_config: { devserial: `scsi-${h.name}` },
    })
    store.create('PBD', { host: ref, SR: localSr, device_config: { device: '/dev/sda3' }, currently_attached: true, other_config: {} })
    const dom0 = createDom0(store, ref, h.name)
    return { ref, name: h.name, address: h.address, localSr, dom0 }
  })
  const sharedSrs: Record<string, string> = {}
  for (const sr of spec.srs) {
    const ref = createSr(store, { name_label: sr.name, type: sr.type, shared: true, physical_size: sr.size, other_config: {}, sm_config: {} })
    for (const h of hosts) store.create('PBD', { host: h.ref, SR: ref, device_config: { server: '192.0.2.10', serverpath: `/export/${sr.name}` }, currently_attached: true, other_config: {} })
    sharedSrs[sr.name] = ref
  }
  const networks = spec.networks.map((n) => store.create('network', { name_label: n.name, bridge: n.bridge, MTU: n.mtu, managed: true, other_config: {}, default_locking_mode: 'unlocked' }))
  store.create('network', {
    name_label: 'Host internal management network',
    bridge: 'xenapi',
    MTU: 1500,
    managed: true,
    other_config: { is_guest_installer_network: 'true', is_host_internal_management_network: 'true' },
    default_locking_mode: 'unlocked',
  })
  for (const h of hosts) seedHostHardware(store, { host: h.ref, hostName: h.name, address: h.address, dom0: h.dom0, networks })
  seedRoles(store)
  const master =
    hosts[
      Math.max(
        0,
        spec.hosts.findIndex((h) => h.master),
      )
    ]!
  const defaultSr = Object.values(sharedSrs)[0] ?? master.localSr
  const pool = store.create('pool', {
    name_label: spec.name,
    master: master.ref,
    default_SR: defaultSr,
    suspend_image_SR: defaultSr,
    crash_dump_SR: defaultSr,
    other_config: {},
    restrictions: {},
    cpu_info: {},
    // XCP-ng ships no Secure Boot certificates: `secureboot-certs install` puts them here.
    uefi_certificates: '',
    custom_uefi_certificates: '',
  })
  const templates = profile.templates().map((t) => store.create('VM', t))
  return { pool, host: master.ref, localSr: master.localSr, network: networks[0] ?? '', template: templates[0]!, profile, hosts: hosts.map(({ dom0: _, ...h }) => h), sharedSrs }
}

function createHost(store: Store, name: string, address: string, profile: Profile): string {
  return store.create('host', {
    name_label: name,
    hostname: name,
    address,
    enabled: true,
    API_version_major: profile.api.major,
    API_version_minor: profile.api.minor,
    API_version_vendor: 'XenSource',
    software_version: { ...profile.software_version, hostname: name },
    capabilities: profile.capabilities,
    supported_bootloaders: ['pygrub', 'eliloader'],
    sched_policy: 'credit',
    memory_overhead: 0,
    edition: 'xcp-ng',
    cpu_info: { cpu_count: '8', vendor: 'GenuineIntel' },
    allowed_operations: ['provision', 'evacuate', 'shutdown', 'reboot', 'vm_start', 'vm_resume', 'vm_migrate'],
  })
}

function createSr(store: Store, fields: Record<string, Value>): string {
  return store.create('SR', {
    name_description: '',
    content_type: 'user',
    allowed_operations: ['vdi_create', 'vdi_destroy', 'vdi_clone', 'vdi_snapshot', 'vdi_resize', 'scan', 'update'],
    ...fields,
  })
}

function createDom0(store: Store, host: string, hostName: string): string {
  return store.create('VM', {
    name_label: `Control domain on host: ${hostName}`,
    is_control_domain: true,
    is_a_template: false,
    power_state: 'Running',
    resident_on: host,
    domid: 0,
    domain_type: 'pv',
    memory_static_min: 4 * GiB,
    memory_static_max: 4 * GiB,
    memory_dynamic_min: 4 * GiB,
    memory_dynamic_max: 4 * GiB,
    memory_target: 4 * GiB,
    VCPUs_max: 4,
    VCPUs_at_startup: 4,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    user_version: 1,
  })
}

/** guest-templates-json v2.1.1 json/other-install-media.json, as imported by create-guest-templates. */
export function otherInstallMedia(): Record<string, Value> {
  return {
    uuid: '552bce37-51b2-445d-84f2-5f33fa112d7e',
    name_label: 'Other install media',
    name_description: 'Template which allows VM installation from install media',
    reference_label: 'other-install-media',
    is_a_template: true,
    is_default_template: true,
    power_state: 'Halted',
    user_version: 1,
    memory_static_min: 128 * MiB,
    memory_static_max: 256 * MiB,
    memory_dynamic_min: 256 * MiB,
    memory_dynamic_max: 256 * MiB,
    memory_target: 256 * MiB,
    VCPUs_max: 1,
    VCPUs_at_startup: 1,
    VCPUs_params: {},
    HVM_boot_policy: 'BIOS order',
    HVM_boot_params: { firmware: 'bios', order: 'cd' },
    HVM_shadow_multiplier: 1,
    PV_bootloader: '',
    PV_kernel: '',
    PV_ramdisk: '',
    PV_args: '',
    PV_bootloader_args: '',
    PV_legacy_args: '',
    platform: { nx: 'true', acpi: '1', apic: 'true', pae: 'true', hpet: 'true', viridian: 'true', secureboot: 'false' },
    other_config: { 'install-methods': 'cdrom', mac_seed: randomUUID() },
    recommendations:
      '<restrictions><restriction field="memory-static-max" max="137438953472"/><restriction field="vcpus-max" max="64"/><restriction field="has-vendor-device" value="false"/><restriction field="supports-bios" value="yes"/><restriction field="supports-uefi" value="yes"/><restriction field="supports-secure-boot" value="yes"/><restriction property="number-of-vbds" max="255"/><restriction property="number-of-vifs" max="7"/></restrictions>',
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    has_vendor_device: false,
    domain_type: 'hvm',
    domid: -1,
    generation_id: '',
    snapshot_time: '19700101T00:00:00Z',
    last_booted_record: '',
    bios_strings: {},
    PCI_bus: '',
  }
}
