import { z } from 'zod'
import { UserError } from '../errors.js'
import type { XapiConnection } from '../xapi/connection.js'
import { parseAnswer } from '../xapi/parse.js'
import * as VBD from '../xapi/vbd.js'
import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'

const ref = z.string().startsWith('OpaqueRef:')
const stringMap = z.record(z.string(), z.string())

/** The VM fields the conversion reads, keeps in other_config, and restores. */
export const ConvertVm = z.looseObject({
  uuid: z.string(),
  name_label: z.string(),
  power_state: z.string(),
  is_a_template: z.boolean(),
  is_a_snapshot: z.boolean(),
  is_control_domain: z.boolean(),
  domain_type: z.string(),
  HVM_boot_policy: z.string(),
  HVM_boot_params: stringMap,
  PV_bootloader: z.string(),
  PV_bootloader_args: z.string(),
  PV_args: z.string(),
  other_config: stringMap,
  VBDs: z.array(ref),
})
export type ConvertVm = z.infer<typeof ConvertVm>

const Vbd = z.looseObject({ VDI: z.string(), type: z.string(), bootable: z.boolean(), empty: z.boolean(), userdevice: z.string() })
const Vdi = z.looseObject({ uuid: z.string(), name_label: z.string(), virtual_size: z.coerce.number().int(), SR: ref, other_config: stringMap, snapshots: z.array(ref), read_only: z.boolean() })
export type ConvertVdi = z.infer<typeof Vdi>

export interface Target {
  vm: string
  rec: ConvertVm
  vdi: string
  disk: ConvertVdi
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function getVm(x: XapiConnection, vm: string): Promise<ConvertVm> {
  return parseAnswer(ConvertVm, await x.call('VM.get_record', vm), 'VM.get_record')
}

export async function getVdi(x: XapiConnection, vdi: string): Promise<ConvertVdi> {
  return parseAnswer(Vdi, await x.call('VDI.get_record', vdi), 'VDI.get_record')
}

/** The VM by name-label or uuid, exactly one, a real guest; and the disk its firmware will boot. */
export async function findTarget(x: XapiConnection, name: string): Promise<Target> {
  const refs = UUID.test(name) ? [await VM.get_by_uuid(x, name)] : await VM.get_by_name_label(x, name)
  const recs = await Promise.all(refs.map(async (r) => ({ ref: r, rec: await getVm(x, r) })))
  const guests = recs.filter((v) => !v.rec.is_a_template && !v.rec.is_a_snapshot && !v.rec.is_control_domain)
  if (guests.length === 0)
    throw new UserError({
      code: 'not-found',
      what: `No VM named "${name}"`,
      why: 'no VM (templates and snapshots aside) has that name-label or uuid',
      fix: 'check the name with xe vm-list, or pass the uuid',
    })
  if (guests.length > 1)
    throw new UserError({ code: 'ambiguous', what: `${guests.length} VMs are named "${name}"`, why: `uuids ${guests.map((g) => g.rec.uuid).join(', ')}`, fix: 'pass the uuid of the one to convert' })
  const { ref: vm, rec } = guests[0]!
  const vbds = await Promise.all(rec.VBDs.map(async (v) => parseAnswer(Vbd, await VBD.get_record(x, v), 'VBD.get_record')))
  const disks = vbds.filter((v) => v.type === 'Disk' && !v.empty && v.VDI.startsWith('OpaqueRef:') && v.VDI !== 'OpaqueRef:NULL')
  // The disk the BIOS boots: the first bootable one by userdevice (xenopsd orders disks by it), else the first.
  disks.sort((a, b) => Number(b.bootable) - Number(a.bootable) || Number(a.userdevice) - Number(b.userdevice))
  const boot = disks[0]
  if (boot === undefined)
    throw new UserError({ what: `VM "${rec.name_label}" has no disk`, why: 'none of its VBDs is a non-empty Disk', fix: "attach the guest's disk (xe vbd-create) and run this again" })
  return { vm, rec, vdi: boot.VDI, disk: await getVdi(x, boot.VDI) }
}

export async function vdiByUuid(x: XapiConnection, uuid: string): Promise<string | null> {
  try {
    return await VDI.get_by_uuid(x, uuid)
  } catch (e) {
    if ((e as { code?: string }).code === 'UUID_INVALID' || (e as { code?: string }).code === 'HANDLE_INVALID') return null
    throw e
  }
}
