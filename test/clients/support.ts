import { dirname } from 'node:path'
import { existsSync } from 'node:fs'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'
import { buildSampleHvmImage } from '../../src/image/sample-hvm-image.js'
import { findOracle } from '../support/oracles.js'

const MiB = 1024 * 1024

/**
 * Where `import XenAPI` finds Citrix's XenAPI.py: XENAPI_PY when set (to run with the
 * newest file from xapi's repository, python3/examples/XenAPI/XenAPI.py, which is LGPL
 * and so not kept here), else the copy Debian ships in python3-os-xenapi.
 */
export function xenapiDir(): string {
  const own = process.env.XENAPI_PY
  if (own) {
    if (!own.endsWith('/XenAPI.py') || !existsSync(own))
      throw new Error(`XENAPI_PY=${own}: expected the path of a file named XenAPI.py (xapi's python3/examples/XenAPI/XenAPI.py); unset it to use Debian's python3-os-xenapi copy`)
    return dirname(own)
  }
  const found = findOracle('XenAPI.py')
  if (!found) throw new Error('XenAPI.py not found: apt-get install python3-os-xenapi, or set XENAPI_PY=/path/to/XenAPI.py')
  return dirname(found)
}

/**
 * A template as a user of these tools has one: a halted FreeBSD VM whose disk boots
 * under BIOS and UEFI and carries guest tools (the sample HVM image), with one NIC, so
 * a VM made from it boots, takes a DHCP address and reports it through VM_guest_metrics.
 */
export async function goldenTemplate(sim: Simulator, x: XapiConnection, name: string, sr = sim.inventory.localSr): Promise<string> {
  // The release's first template (Other install media): HVM, BIOS order, no disks of its own.
  const vm = await x.call<string>('VM.clone', sim.inventory.template, name)
  const { layout, extents } = buildSampleHvmImage({ firmware: 'both', diskSize: 128 * MiB })
  const vdi = await x.call<string>('VDI.create', { name_label: `${name} disk`, SR: sr, virtual_size: layout.diskSize, type: 'system', sharable: false, read_only: false, other_config: {} })
  const disk = sim.state.disks.get(vdi)!
  for (const e of extents) disk.write(e.offset, e.data)
  await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
  await x.call('VIF.create', { VM: vm, network: sim.inventory.network, device: '0', MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
  await x.call('VM.set_HVM_boot_params', vm, { firmware: 'bios', order: 'c' })
  return vm
}
