import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import { hasCode } from '../xapi/errors.js'
import { VmDetailRecord, type VdiDetailRecord } from '../xapi/records.js'
import { parseAnswer } from '../xapi/parse.js'
import { UserError } from '../errors.js'
import { DRIVE_KEY } from './first-boot.js'
import { INCOMPLETE_KEY, markOf, VM_KEY } from './marks.js'
import { SETTINGS_KEY } from './settings.js'
import { IMAGE_KEY } from '../upload/resume/checkpoint.js'

/** What destroying a VM the tool made removes, and what it leaves. */
export interface DestroyPlan {
  vm: { ref: string; uuid: string; name: string; power_state: string }
  /** Disks the tool made for this VM (its boot disk, a config drive): destroyed with it. */
  disks: { ref: string; uuid: string; name_label: string }[]
  /** Other disks attached to it (attached by hand, an ISO): never destroyed, only detached by VM.destroy. */
  kept: { uuid: string; name_label: string }[]
  /** A running VM is shut down first. */
  disruptive: boolean
}

/** A disk the tool made for the VM of this name: provision's boot disk or config drive, or a fleet clone. */
const isOurDisk = (v: VdiDetailRecord, name: string): boolean => v.other_config[VM_KEY] === markOf(name) || v.other_config[VM_KEY] === name || v.other_config[DRIVE_KEY] === markOf(name)

/**
 * The tool's marks on a VM: the record of its settings (provision and fleet VMs since the
 * record exists), the fleet's VM tag, or, for a VM provision made before either, its boot
 * disk marked with the VM's name. A VM with none of them is someone else's.
 */
export const isOurVm = (vm: VmDetailRecord, disks: readonly VdiDetailRecord[]): boolean =>
  SETTINGS_KEY in vm.other_config || VM_KEY in vm.other_config || disks.some((d) => isOurDisk(d, vm.name_label))

/** A VM (not a template, not a snapshot) as one read by name found it. */
export interface NamedVm {
  ref: string
  record: VmDetailRecord
}

/**
 * The VMs, templates and snapshots aside, with this name-label: the one read by name a
 * provision makes, which both the existing-VM check (existing.ts) and the name-taken
 * check of the lookups (lookup.ts) use.
 */
export async function readVmsNamed(x: XapiConnection, name: string): Promise<NamedVm[]> {
  const refs = await VM.get_by_name_label(x, name)
  const vms = await Promise.all(refs.map(async (ref) => ({ ref, record: parseAnswer(VmDetailRecord, await VM.get_record(x, ref), 'VM.get_record') })))
  return vms.filter(({ record: v }) => !v.is_a_template && !v.is_a_snapshot)
}

/**
 * The VM of this name-label, if any, with its disks; several is an error (the name is
 * ambiguous). `named` and `vdis` are what the caller already read (readVmsNamed, the VDI
 * records); each is read here when not given.
 */
export async function findVm(
  x: XapiConnection,
  name: string,
  read: { named?: readonly NamedVm[]; vdis?: Record<string, VdiDetailRecord> } = {},
): Promise<{ ref: string; record: VmDetailRecord; disks: [string, VdiDetailRecord][] } | undefined> {
  const vms = (read.named ?? (await readVmsNamed(x, name))).filter(({ record: v }) => !v.is_control_domain)
  if (vms.length === 0) return undefined
  if (vms.length > 1) {
    throw new UserError({
      what: `${vms.length} VMs are named "${name}"`,
      why: `uuids: ${vms.map((v) => v.record.uuid).join(', ')}; the name does not say which one`,
      fix: 'rename or remove the extra VMs by hand (xe vm-param-set uuid=… name-label=…), then run again',
      code: 'name-taken',
    })
  }
  const vm = vms[0]!
  const vbds = new Set(vm.record.VBDs)
  const disks = Object.entries(read.vdis ?? (await VDI.get_all_records(x))).filter(([, d]) => d.VBDs.some((b) => vbds.has(b)))
  return { ...vm, disks }
}

/** What `provision destroy <name>` would remove; refuses a VM without the tool's marks. Reads only. */
export async function planDestroy(x: XapiConnection, name: string): Promise<DestroyPlan> {
  const found = await findVm(x, name)
  if (!found) {
    throw new UserError({ what: `No VM named "${name}"`, why: 'VM.get_by_name_label found no VM with that exact name-label', fix: 'check the name (xe vm-list params=name-label)', code: 'not-found' })
  }
  const { ref, record, disks } = found
  if (
    !isOurVm(
      record,
      disks.map(([, d]) => d),
    )
  ) {
    throw new UserError({
      what: `VM "${name}" (${record.uuid}) was not made by xcp-provision`,
      why: `it carries none of the tool's marks (other_config ${SETTINGS_KEY} or ${VM_KEY}, or a disk marked with its name); destroy only removes what the tool made`,
      fix: 'remove it by hand if you mean to (xe vm-uninstall uuid=… removes it and its disks)',
      code: 'not-managed',
    })
  }
  return destroyPlanOf(ref, record, disks)
}

/** The plan for a VM and the disks attached to it (as read), pure: the fleet plans replacements from its inventory with it. */
export function destroyPlanOf(ref: string, record: VmDetailRecord, disks: readonly [string, VdiDetailRecord][]): DestroyPlan {
  const name = record.name_label
  return {
    vm: { ref, uuid: record.uuid, name, power_state: record.power_state },
    disks: disks.filter(([, d]) => isOurDisk(d, name)).map(([r, d]) => ({ ref: r, uuid: d.uuid, name_label: d.name_label })),
    kept: disks.filter(([, d]) => !isOurDisk(d, name)).map(([, d]) => ({ uuid: d.uuid, name_label: d.name_label })),
    disruptive: record.power_state !== 'Halted',
  }
}

/** The calls a plan makes, for --dry-run and the consent prompt. */
export function destroyCalls(p: DestroyPlan): string[] {
  return [
    ...(p.disruptive ? [`Async.VM.clean_shutdown ${p.vm.uuid} (Async.VM.hard_shutdown if the guest does not stop)`] : []),
    ...p.disks.map((d) => `VDI.remove_from_other_config ${IMAGE_KEY}, ${INCOMPLETE_KEY}; VDI.add_to_other_config ${d.uuid} ${INCOMPLETE_KEY}=true (a killed destroy is finished by the next run)`),
    `VM.destroy ${p.vm.uuid} "${p.vm.name}" (its VBDs and VIFs go with it)`,
    ...p.disks.map((d) => `VDI.destroy ${d.uuid} "${d.name_label}"`),
  ]
}

/**
 * Removes the VM and the disks the tool made for it. The disks are marked unfinished
 * first: a run killed after VM.destroy leaves disks that the next provision of that name
 * (or rollout of its fleet) removes as leftovers, never disks that look finished.
 * Objects already gone count as removed, so a destroy can be repeated.
 */
export async function destroyVm(x: XapiConnection, p: DestroyPlan, onStep: (id: string, title: string) => void = () => undefined): Promise<string[]> {
  const gone = async (q: Promise<unknown>): Promise<void> => {
    try {
      await q
    } catch (e) {
      if (!hasCode(e, 'HANDLE_INVALID')) throw e
    }
  }
  if (p.disruptive) {
    onStep('vm.shutdown', 'Shut the VM down')
    await VM.clean_shutdown(x, p.vm.ref).catch(async (e: unknown) => {
      if (hasCode(e, 'VM_BAD_POWER_STATE')) return
      // A guest without PV drivers, or one that does not stop: as xe vm-uninstall force=true does.
      await VM.hard_shutdown(x, p.vm.ref).catch((h: unknown) => {
        if (!hasCode(h, 'VM_BAD_POWER_STATE')) throw h
      })
    })
  }
  onStep('vm.destroy', 'Destroy the VM and its disks')
  for (const d of p.disks) {
    // Without the upload's image identity: a marked disk that still had it would be taken for an upload to resume.
    await gone(VDI.remove_from_other_config(x, d.ref, IMAGE_KEY))
    await gone(VDI.remove_from_other_config(x, d.ref, INCOMPLETE_KEY))
    await gone(VDI.add_to_other_config(x, d.ref, INCOMPLETE_KEY, 'true'))
  }
  await gone(VM.destroy(x, p.vm.ref))
  const removed = [`VM ${p.vm.name} (${p.vm.uuid})`]
  for (const d of p.disks) {
    await gone(VDI.destroy(x, d.ref))
    removed.push(`VDI ${d.name_label} (${d.uuid})`)
  }
  return removed
}
