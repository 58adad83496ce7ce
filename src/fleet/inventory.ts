import type { XapiConnection } from '../xapi/connection.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import * as VIF from '../xapi/vif.js'
import * as SR from '../xapi/sr.js'
import * as PBD from '../xapi/pbd.js'
import * as host from '../xapi/host.js'
import * as network from '../xapi/network.js'
import { buildingName } from '../provision/leftovers.js'
import type { HostRecord, NetworkRecord, PbdRecord, SrRecord, VdiDetailRecord, VifRecord, VmDetailRecord } from '../xapi/records.js'

/** other_config keys the fleet writes; everything it finds again on a re-run goes through these. */
export const TAG = {
  fleet: 'xcp-provision:fleet',
  vm: 'xcp-provision:vm',
  imageSha256: 'xcp-provision:image-sha256',
  /** On a base VDI from its creation until its upload is complete: the hash it is receiving. */
  baseUpload: 'xcp-provision:base-upload',
  templateSha256: 'xcp-provision:template-sha256',
  /**
   * On a base VDI: its own uuid. VDI.clone copies other_config, so a clone carries its
   * base's uuid instead of its own and can never pass for a base, even when a kill came
   * before it got its VM tag.
   */
  base: 'xcp-provision:base',
} as const

/** A VM or template still under provision's temporary name: never a finished object. */
export const isBuildingName = (label: string): boolean => label.endsWith(buildingName(''))

/**
 * One pool as read at the start of a rollout, with one get_all_records per class: a few
 * calls per pool instead of several per VM, and a consistent picture to plan against.
 */
export interface PoolInventory {
  vms: Record<string, VmDetailRecord>
  vdis: Record<string, VdiDetailRecord>
  vifs: Record<string, VifRecord>
  srs: Record<string, SrRecord>
  pbds: Record<string, PbdRecord>
  hosts: Record<string, HostRecord>
  networks: Record<string, NetworkRecord>
  /** VM_guest_metrics.networks by guest metrics ref: the addresses guest agents report (address pools keep off them). */
  guestNetworks: Record<string, Record<string, string>>
}

export async function readInventory(x: XapiConnection): Promise<PoolInventory> {
  const [vms, vdis, vifs, srs, pbds, hosts, networks, metrics] = await Promise.all([
    VM.get_all_records(x),
    VDI.get_all_records(x),
    VIF.get_all_records(x),
    SR.get_all_records(x),
    PBD.get_all_records(x),
    host.get_all_records(x),
    network.get_all_records(x),
    x.call<Record<string, { networks?: Record<string, string> }>>('VM_guest_metrics.get_all_records'),
  ])
  const guestNetworks = Object.fromEntries(Object.entries(metrics).map(([ref, m]) => [ref, m.networks ?? {}]))
  return { vms, vdis, vifs, srs, pbds, hosts, networks, guestNetworks }
}

/** VMs (not templates, snapshots or dom0) that carry this fleet's tag, by VM name tag. */
export function fleetVms(inv: PoolInventory, fleet: string): Map<string, [string, VmDetailRecord][]> {
  const out = new Map<string, [string, VmDetailRecord][]>()
  for (const [ref, vm] of Object.entries(inv.vms)) {
    if (vm.is_a_template || vm.is_a_snapshot || vm.is_control_domain) continue
    if (vm.other_config[TAG.fleet] !== fleet) continue
    const name = vm.other_config[TAG.vm]
    // Still carrying provision's temporary name: left by an interrupted run (leftovers.ts).
    if (name === undefined || vm.name_label === buildingName(name)) continue
    const list = out.get(name) ?? []
    list.push([ref, vm])
    out.set(name, list)
  }
  return out
}

type Found = { ref: string; uuid: string; other_config: Record<string, string> } | undefined

/** Base-like VDIs of the SR matching `is`; the first by uuid (age is not knowable from records), for a stable choice. */
function findBaseLike(inv: PoolInventory, sr: string, size: number, type: string, is: (v: VdiDetailRecord) => boolean): Found {
  const hits = Object.entries(inv.vdis).filter(
    ([, v]) =>
      v.SR === sr &&
      v.managed &&
      !v.is_a_snapshot &&
      v.type === type &&
      !(TAG.vm in v.other_config) &&
      // A clone of a base carries that base's uuid: a base is its own (or, made before the tag, none).
      (v.other_config[TAG.base] ?? v.uuid) === v.uuid &&
      // SRs round sizes up (VHD: 2 MiB), so the base may be a little larger than asked.
      v.virtual_size >= size &&
      v.virtual_size < size + 2 * 1024 * 1024 &&
      is(v),
  )
  // Tagged bases first: an untagged hit may be an old version's clone left before its VM tag.
  const rank = (v: VdiDetailRecord): string => `${TAG.base in v.other_config ? 0 : 1}${v.uuid}`
  hits.sort(([, a], [, b]) => rank(a).localeCompare(rank(b)))
  return hits[0] && { ref: hits[0][0], uuid: hits[0][1].uuid, other_config: hits[0][1].other_config }
}

/**
 * A base VDI: carries the image hash and no VM tag. Clones inherit other_config
 * (VDI.clone copies it), so every clone gets a VM tag at once to stop looking like a base.
 */
export const findBase = (inv: PoolInventory, sr: string, sha256: string, size: number, type: string): Found => findBaseLike(inv, sr, size, type, (v) => v.other_config[TAG.imageSha256] === sha256)

/**
 * A base whose upload an earlier rollout started and never finished (killed, or the
 * machine died): it still carries the upload mark and no hash, and nothing uses it. The
 * next rollout uploads into it, resuming from its checkpoint, instead of leaking it.
 */
export const findPartialBase = (inv: PoolInventory, sr: string, sha256: string, size: number, type: string): Found =>
  findBaseLike(inv, sr, size, type, (v) => v.other_config[TAG.baseUpload] === sha256 && !(TAG.imageSha256 in v.other_config) && v.VBDs.length === 0)

/**
 * A golden template of this fleet with this settings hash. A VM.clone of it is a template
 * too, with the same tags, until the VM's next calls: a clone left by a kill in between
 * carries provision's temporary name (and, a moment later, a VM tag) and is never taken.
 */
export function findTemplate(inv: PoolInventory, fleet: string, sha256: string): { ref: string; uuid: string } | undefined {
  const hits = Object.entries(inv.vms).filter(
    ([, v]) =>
      v.is_a_template && !v.is_a_snapshot && v.other_config[TAG.fleet] === fleet && v.other_config[TAG.templateSha256] === sha256 && !(TAG.vm in v.other_config) && !isBuildingName(v.name_label),
  )
  hits.sort(([, a], [, b]) => a.uuid.localeCompare(b.uuid))
  return hits[0] && { ref: hits[0][0], uuid: hits[0][1].uuid }
}
