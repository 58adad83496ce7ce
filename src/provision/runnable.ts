import type { Recipe } from '../recipe/schema.js'
import type { Capabilities } from './capabilities.js'

export interface Refusal {
  what: string
  why: string
  fix: string
}

/**
 * Can a host with these capabilities run the recipe? A refusal names the release, the
 * reason and the way out; warnings are for what runs but deserves a word (PVH on
 * XCP-ng, Secure Boot "auto" that will be off). `kernelBits` is the ELF class of the
 * kernel pygrub would load from the image (pv and pvh), null when unknown.
 */
export function checkRunnable(recipe: Recipe, caps: Capabilities, release: string, kernelBits: 32 | 64 | null): { refusal: Refusal | null; warnings: string[] } {
  const warnings: string[] = []
  const refuse = (what: string, why: string, fix: string): { refusal: Refusal; warnings: string[] } => ({ refusal: { what, why, fix }, warnings })
  const boot = recipe.boot
  if (boot.mode === 'pv') {
    if (!caps.pv) {
      return refuse(
        `${release} cannot run the PV guest this recipe builds`,
        `${release} removed PV mode: PV guests do not run at all there (XCP-ng 8.3 release notes; XenServer 8 keeps PV only inside a PVH shim)`,
        'use an HVM recipe (freebsd-14, freebsd-13, debian-12) or set boot.mode: hvm; or provision on a host that still runs PV (XCP-ng 8.2 or older)',
      )
    }
    if (kernelBits === 32 && !caps.pv32) {
      return refuse(
        `${release} cannot run a 32-bit PV kernel`,
        `the kernel pygrub would load from the image is 32-bit (ELF class 32) and this host's Xen has no 32-bit PV support (no xen-3.0-x86_32p in host.capabilities; removed from XCP-ng 8.2 in January 2022)`,
        'use a 64-bit (amd64) image, or an HVM recipe (freebsd-14, freebsd-13); FreeBSD has had no PV kernel since 11, so HVM is the way forward',
      )
    }
  }
  if (boot.mode === 'pvh') {
    if (!caps.pvh) return refuse(`${release} cannot run a PVH guest`, 'VM.domain_type pvh needs XAPI API 2.10 or later and a host with HVM support', 'use an HVM recipe (boot.mode: hvm)')
    warnings.push(
      `boot.mode pvh is experimental on XCP-ng ("very experimental, not officially supported", XCP-ng forum topic 10862): the console may not work and the guest needs PVH support in its kernel`,
    )
  }
  if (boot.mode === 'hvm') {
    if (!caps.hvm)
      return refuse(
        `${release} cannot run an HVM guest`,
        'host.capabilities lists no hvm-3.0-* entry: the CPU lacks VT-x/AMD-V or it is off in the firmware setup',
        'enable virtualisation in the host firmware, or use a PV recipe on a release that runs PV',
      )
    if (boot.firmware === 'uefi' && !caps.uefi)
      return refuse(
        `${release} cannot boot a guest with UEFI firmware`,
        'UEFI guests (VM.NVRAM) came with API 2.12 (Citrix Hypervisor 8.0, XCP-ng 8.0)',
        'set boot.firmware: bios and use an image with BIOS boot code (freebsd-13 is such a recipe)',
      )
    if (boot.secure_boot === true && !caps.secure_boot_certificates) {
      return refuse(
        'Secure Boot cannot be turned on in this pool',
        'the pool holds no UEFI certificates (pool.uefi_certificates is empty), so a VM with platform:secureboot=true would not start',
        'install them on the pool master (XCP-ng: secureboot-certs install), or set boot.secure_boot: auto or false',
      )
    }
    if (boot.secure_boot === 'auto' && !caps.secure_boot_certificates) warnings.push('boot.secure_boot auto: the pool has no UEFI certificates, so XAPI starts the VM with Secure Boot off')
  }
  return { refusal: null, warnings }
}
