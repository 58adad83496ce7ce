import { fault } from '../fault.js'
import type { Ctx } from '../context.js'
import type { XRecord } from '../datamodel/model.js'
import { elfClass } from '../../src/image/elf-class.js'

/**
 * What XAPI and xenopsd do to a VM's platform and firmware settings at VM.start, and
 * what the release's domain builder refuses. Sources: xen-api ocaml/xapi/xapi_vm.ml
 * (start: update_platform_secureboot, ensure_device_model_profile_present),
 * xapi_xenops.ml (firmware_of_vm, Internal_error → INTERNAL_ERROR "xenopsd internal
 * error: …"), vm_platform.ml (sanity_check), and libxenguest xc_dom_compat_check.
 */

/** The platform map XAPI writes back at VM.start: "auto" resolved, device-model added for HVM. */
export function platformAtStart(c: Ctx, rec: Readonly<XRecord>): Record<string, string> {
  const platform = { ...(rec.platform as Record<string, string>) }
  const pool = c.store.get('pool', c.sim.pool)
  if (platform.secureboot === 'auto') {
    const certs = String(pool.custom_uefi_certificates ?? '') || String(pool.uefi_certificates ?? '')
    platform.secureboot = String(certs !== '')
  }
  const needsQemu = rec.domain_type === 'hvm'
  const firmware = firmwareOf(rec)
  if (needsQemu && !('device-model' in platform)) platform['device-model'] = firmware === 'uefi' ? 'qemu-upstream-uefi' : 'qemu-upstream-compat'
  if (needsQemu && platform['device-model'] === 'qemu-trad') platform['device-model'] = 'qemu-upstream-compat'
  return platform
}

/** xapi_xenops.ml firmware_of_vm: absent means BIOS; anything but bios/uefi is INVALID_VALUE. */
export function firmwareOf(rec: Readonly<XRecord>): 'bios' | 'uefi' {
  const f = (rec.HVM_boot_params as Record<string, string>).firmware
  if (f === undefined || f === 'bios') return 'bios'
  if (f === 'uefi') return 'uefi'
  throw fault('INVALID_VALUE', "HVM-boot-params['firmware']", f)
}

/** vm_platform.ml sanity_check: firmware and device model must agree. */
export function checkPlatform(platform: Record<string, string>, firmware: 'bios' | 'uefi'): void {
  const dm = platform['device-model']
  if (dm === 'qemu-trad' && firmware === 'uefi') throw fault('INVALID_VALUE', 'platform:device-model', 'UEFI boot is not supported with qemu-trad')
  if (dm === 'qemu-upstream-uefi' && firmware === 'bios') throw fault('INVALID_VALUE', 'platform:device-model', 'BIOS boot is not supported with qemu-upstream-uefi')
}

/**
 * The domain builder's refusal of a PV kernel: a 32-bit one where Xen has no
 * xen-3.0-x86_32p (xc_dom_compat_check's own words), and on releases without PV
 * (XCP-ng 8.3, XenServer 8) every one. xenopsd reports it as an internal error.
 */
export function assertPvBuildable(c: Ctx, rec: Readonly<XRecord>, domid: number, kernel: Buffer | undefined): void {
  const refuses = c.sim.profile.refusesPv
  if (rec.domain_type !== 'pv' || refuses === 'none') return
  const guestType = kernel && elfClass(kernel) === 32 ? 'xen-3.0-x86_32p' : 'xen-3.0-x86_64'
  if (refuses === 'pv32' && guestType !== 'xen-3.0-x86_32p') return
  const why =
    refuses === 'all'
      ? `${c.sim.profile.software_version.product_brand} ${c.sim.profile.software_version.product_version} runs no PV guests`
      : `guest type ${guestType} not supported by xen kernel, sorry`
  throw fault('INTERNAL_ERROR', `xenopsd internal error: VM = ${String(rec.uuid)}; domid = ${domid}; xc_dom_compat_check: ${why}`)
}
