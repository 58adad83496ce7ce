import { randomUUID } from 'node:crypto'
import type { Store } from './store.js'

const GiB = 1024 ** 3
const MiB = 1024 ** 2

export interface InventoryOptions {
  hostName?: string
  address?: string
  /** Size of the "Local storage" SR. */
  localSrSize?: number
}

export interface Inventory {
  pool: string
  host: string
  localSr: string
  network: string
  template: string
}

/**
 * The default inventory: one pool with one host, its "Local storage" SR (ext, so VDI
 * sizes round to 2 MiB like a real VHD SR), the xenbr0 network, dom0 and the
 * built-in "Other install media" template as guest-templates-json v2.1.1 defines it.
 */
export function createDefaultInventory(store: Store, opts: InventoryOptions = {}): Inventory {
  const hostName = opts.hostName ?? 'xcp1'
  const host = store.create('host', {
    name_label: hostName,
    hostname: hostName,
    address: opts.address ?? '127.0.0.1',
    enabled: true,
    API_version_major: 2,
    API_version_minor: 21,
    API_version_vendor: 'XenSource',
    software_version: { product_brand: 'XCP-ng', product_version: '8.3.0', platform_name: 'XCP', xapi: '24.19', xen: '4.17.5' },
    capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_64'],
    supported_bootloaders: ['pygrub', 'eliloader'],
    sched_policy: 'credit',
    memory_overhead: 0,
    edition: 'xcp-ng',
    cpu_info: { cpu_count: '8', vendor: 'GenuineIntel' },
    allowed_operations: ['provision', 'evacuate', 'shutdown', 'reboot', 'vm_start', 'vm_resume', 'vm_migrate'],
  })
  const localSr = store.create('SR', {
    name_label: 'Local storage',
    name_description: '',
    type: 'ext',
    content_type: 'user',
    shared: false,
    physical_size: opts.localSrSize ?? 500 * GiB,
    other_config: { 'i18n-key': 'local-storage' },
    sm_config: { devserial: 'scsi-sim' },
    allowed_operations: ['vdi_create', 'vdi_destroy', 'vdi_clone', 'vdi_snapshot', 'vdi_resize', 'scan', 'update'],
  })
  store.create('PBD', { host, SR: localSr, device_config: { device: '/dev/sda3' }, currently_attached: true, other_config: {} })
  const network = store.create('network', {
    name_label: 'Pool-wide network associated with eth0',
    bridge: 'xenbr0',
    MTU: 1500,
    managed: true,
    other_config: {},
    default_locking_mode: 'unlocked',
  })
  store.create('network', {
    name_label: 'Host internal management network',
    bridge: 'xenapi',
    MTU: 1500,
    managed: true,
    other_config: { is_guest_installer_network: 'true', is_host_internal_management_network: 'true' },
    default_locking_mode: 'unlocked',
  })
  const pool = store.create('pool', {
    name_label: '',
    master: host,
    default_SR: localSr,
    suspend_image_SR: localSr,
    crash_dump_SR: localSr,
    other_config: {},
    restrictions: {},
    cpu_info: {},
  })
  store.create('VM', {
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
  const template = store.create('VM', otherInstallMedia())
  return { pool, host, localSr, network, template }
}

/** guest-templates-json v2.1.1 json/other-install-media.json, as imported by create-guest-templates. */
export function otherInstallMedia(): Record<string, import('./datamodel/model.js').Value> {
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
