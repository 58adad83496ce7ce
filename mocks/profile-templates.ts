import { randomUUID } from 'node:crypto'
import type { Value } from './datamodel/model.js'
import { otherInstallMedia } from './inventory.js'

const GiB = 1024 ** 3

/**
 * Linux templates of guest-templates-json (xenserver/guest-templates-json json/ and
 * xcp-ng-rpms/guest-templates-json SOURCES/): base-hvmlinux.json for BIOS ones,
 * base-linux-uefi.json on top of it for UEFI ones (device-model removed, secureboot auto).
 */
const LINUX: Record<string, { uuid: string; name: string; uefi: boolean }> = {
  'generic-linux-uefi': { uuid: 'b73b736f-8dee-4bbe-9380-30d1e1854958', name: 'Generic Linux UEFI', uefi: true },
  'generic-linux-bios': { uuid: 'dfbd1201-329f-4c87-9f0c-78a6f5270ba0', name: 'Generic Linux BIOS', uefi: false },
  'debian-11': { uuid: '1a6f2bc1-6d4f-4b2a-8a57-6a1b1b0f4a11', name: 'Debian Bullseye 11', uefi: true },
  'debian-12': { uuid: '07d91aaa-43f7-430a-bf84-0edb6714df0f', name: 'Debian Bookworm 12', uefi: true },
  'debian-13': { uuid: '0f690a2c-2bf3-4bde-b5b6-3fd236adbc88', name: 'Debian Trixie 13', uefi: true },
  'ubuntu-24.04': { uuid: 'd1d2f6b2-3a0e-4e8f-9a1f-8c2d0f3b2404', name: 'Ubuntu Noble Numbat 24.04', uefi: true },
}

export function linuxTemplate(label: keyof typeof LINUX & string): Record<string, Value> {
  const t = LINUX[label]!
  const platform: Record<string, string> = { vga: 'std', videoram: '8', viridian: 'false', device_id: '0001', 'device-model': 'qemu-upstream-compat', secureboot: 'false' }
  if (t.uefi) {
    delete platform['device-model']
    platform.secureboot = 'auto'
  }
  return {
    ...otherInstallMedia(),
    uuid: t.uuid,
    name_label: t.name,
    name_description:
      'To use this template from the CLI, install your VM using vm-install, then set other-config-install-repository to the path to your network repository, e.g. http://<server>/<path> or nfs:server:/<path>',
    reference_label: label,
    memory_static_min: GiB,
    memory_static_max: GiB,
    memory_dynamic_min: GiB,
    memory_dynamic_max: GiB,
    memory_target: GiB,
    HVM_boot_policy: 'BIOS order',
    HVM_boot_params: { firmware: t.uefi ? 'uefi' : 'bios', order: 'cdn' },
    platform,
    other_config: { linux_template: 'true', 'install-methods': 'cdrom,nfs,http,ftp', mac_seed: randomUUID() },
  }
}
