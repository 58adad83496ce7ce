import { createHash } from 'node:crypto'
import type { Store } from './store.js'
import { xapiNow } from './time.js'

const GiB = 1024 ** 3

/** A stable locally-unique MAC for a host's NIC, so PIFs look the same on every run. */
function nicMac(host: string, device: string): string {
  const h = createHash('sha256').update(`${host}:${device}`).digest()
  return ['00', '16', '3e', h[0]!, h[1]!, h[2]!].map((b) => (typeof b === 'number' ? b.toString(16).padStart(2, '0') : b)).join(':')
}

/**
 * What xapi fills on a host at its first start (dbsync_slave.ml, create_misc.ml): the
 * host_metrics record, one host_cpu per CPU, control_domain pointing at dom0, and one
 * physical PIF per NIC, each on the network whose bridge is xenbrN; the first NIC is the
 * management interface with the host's address.
 */
export function seedHostHardware(store: Store, o: { host: string; hostName: string; address: string; dom0: string; networks: string[] }): void {
  const memory = 64 * GiB
  const metrics = store.create('host_metrics', { memory_total: memory, memory_free: memory - 4 * GiB, live: true, last_updated: xapiNow(), other_config: {} })
  const cpuInfo = store.get('host', o.host).cpu_info as Record<string, string>
  const count = Number(cpuInfo.cpu_count ?? 8)
  for (let i = 0; i < count; i++) {
    store.create('host_cpu', {
      host: o.host,
      number: i,
      vendor: cpuInfo.vendor ?? 'GenuineIntel',
      speed: 2400,
      modelname: 'Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz',
      family: 6,
      model: 63,
      stepping: '2',
      flags:
        'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl nonstop_tsc pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm',
      features: '77fefbff-bfebfbff-00000021-2c100800',
      utilisation: 0,
      other_config: {},
    })
  }
  store.update('host', o.host, { metrics, control_domain: o.dom0 })
  // The dom0 console every host has (vt100 text console of the control domain).
  store.create('console', { protocol: 'vt100', VM: o.dom0, location: `https://${o.address}/console?ref=${o.dom0}`, other_config: {} })
  o.networks.forEach((network, i) => {
    const bridge = String(store.get('network', network).bridge)
    const n = /^xenbr(\d+)$/.exec(bridge)?.[1] ?? String(i)
    const device = `eth${n}`
    const management = i === 0
    store.create('PIF', {
      device,
      network,
      host: o.host,
      MAC: nicMac(o.hostName, device),
      MTU: Number(store.get('network', network).MTU),
      VLAN: -1,
      physical: true,
      currently_attached: true,
      ip_configuration_mode: management ? 'Static' : 'None',
      IP: management ? o.address : '',
      netmask: management ? '255.255.255.0' : '',
      gateway: '',
      DNS: '',
      management,
      other_config: {},
      disallow_unplug: false,
      ipv6_configuration_mode: 'None',
      IPv6: [],
      primary_address_type: 'IPv4',
      managed: true,
      properties: { gro: 'on' },
      capabilities: ['fcoe'],
      igmp_snooping_status: 'disabled',
    })
  })
}

/**
 * The roles of xapi's RBAC (rbac_static.ml): the six a subject can be given, from
 * pool-admin down to read-only. xapi lists their permissions as internal subroles;
 * the simulator has no permissions to list, so subroles stay empty.
 */
const ROLES: [name: string, description: string][] = [
  ['pool-admin', 'The Pool Administrator role has full access to all features and settings, including accessing Dom0 and managing subjects, roles and external authentication'],
  [
    'pool-operator',
    'The Pool Operator role manages host- and pool-wide resources, including setting up storage, creating resource pools and managing patches, high availability (HA) and workload balancing (WLB)',
  ],
  [
    'vm-power-admin',
    'The Virtual Machine Power Administrator role has full access to VM and template management and can choose where to start VMs and use the dynamic memory control and VM snapshot features',
  ],
  ['vm-admin', 'The Virtual Machine Administrator role can manage VMs and templates'],
  ['vm-operator', 'The Virtual Machine Operator role can use VMs and interact with VM consoles'],
  ['read-only', 'The Read-Only role can log in with basic read-only access'],
]

export function seedRoles(store: Store): void {
  for (const [name, description] of ROLES) store.create('role', { name_label: name, name_description: description, subroles: [], is_internal: false })
}
