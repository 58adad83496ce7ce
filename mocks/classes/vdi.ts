import { fault } from '../fault.js'
import type { Ctx, Handlers } from '../context.js'
import { NULL_REF, type Value, type XRecord } from '../datamodel/model.js'
import { constructorFields } from './generic.js'
import { BLOCK, SparseDisk } from '../sparse-disk.js'

const MiB = 1024 * 1024
/** VHD-based SRs (ext, lvm, nfs) round sizes up to 2 MiB blocks (sm vhdutil). */
const VHD_SR_TYPES = new Set(['ext', 'lvm', 'lvmoiscsi', 'lvmohba', 'nfs', 'file'])

/** vhdutil.MAX_VHD_SIZE: 2040 GiB. */
const MAX_VHD_SIZE = 2040 * 1024 * MiB

/**
 * SM's vhdutil.validate_and_round_vhd_size, run by the SR driver before it checks for
 * space: a negative size, or one over the VHD maximum, is XenError('VDISize'), code 79.
 * Zero is valid and rounds up to 2 MiB. xapi itself passes the size through unchecked.
 */
function assertVirtualSize(srType: string, size: number): void {
  if (size >= 0 && !(VHD_SR_TYPES.has(srType) && size > MAX_VHD_SIZE)) return
  const opterr = `VDI size must be between 1 MB and ${MAX_VHD_SIZE / MiB} MB`
  throw fault('SR_BACKEND_FAILURE_79', '', `VDI Invalid size [opterr=${opterr}]`, '')
}

export function roundVirtualSize(srType: string, size: number): number {
  if (!VHD_SR_TYPES.has(srType)) return size
  return Math.max(2 * MiB, Math.ceil(size / (2 * MiB)) * 2 * MiB)
}

/** Accounts the SR's allocation; out of space is SM error 44, not SR_FULL (which xapi never raises). */
export function createVdi(c: Ctx, fields: XRecord): string {
  const sr = String(fields.SR)
  const srRec = c.store.get('SR', sr)
  if (fields.type === 'cbt_metadata') throw fault('VDI_INCOMPATIBLE_TYPE', '', 'cbt_metadata')
  assertVirtualSize(String(srRec.type), Number(fields.virtual_size))
  const size = roundVirtualSize(String(srRec.type), Number(fields.virtual_size))
  const allocation = Number(srRec.virtual_allocation) + size
  if (allocation > Number(srRec.physical_size)) throw fault('SR_BACKEND_FAILURE_44', '', 'There is insufficient space', '')
  const ref = c.store.create('VDI', {
    ...fields,
    virtual_size: size,
    physical_utilisation: 0,
    managed: true,
    missing: false,
    storage_lock: false,
    parent: NULL_REF,
    location: '',
    allowed_operations: ['clone', 'copy', 'resize', 'snapshot', 'destroy', 'update', 'generate_config'],
  })
  c.store.update('VDI', ref, { location: String(c.store.get('VDI', ref).uuid) })
  c.store.update('SR', sr, { virtual_allocation: allocation, physical_utilisation: allocation })
  c.sim.disks.set(ref, new SparseDisk(size))
  return ref
}

/** Xapi_vdi.check_operation_error, the part the simulator models: attached, then busy. */
export function assertVdiOperation(c: Ctx, ref: string, op: string): void {
  const rec = c.store.get('VDI', ref)
  if (op === 'destroy') {
    for (const vbd of rec.VBDs as string[]) {
      if (c.store.get('VBD', vbd).currently_attached) throw fault('VDI_IN_USE', ref, op)
    }
  }
  const busy = Object.entries(rec.current_operations as Record<string, string>)[0]
  if (busy) throw fault('OTHER_OPERATION_IN_PROGRESS', 'VDI', ref, busy[1], busy[0])
}

export function destroyVdi(c: Ctx, ref: string): void {
  assertVdiOperation(c, ref, 'destroy')
  const rec = c.store.get('VDI', ref)
  // VDI.snapshots is the inverse of snapshot_of in xapi's database: the parent forgets a destroyed snapshot.
  const parent = String(rec.snapshot_of)
  if (c.store.classOf(parent) === 'VDI') {
    c.store.update('VDI', parent, { snapshots: (c.store.get('VDI', parent).snapshots as string[]).filter((s) => s !== ref) })
  }
  // Detached VBDs that still point at the VDI go with it.
  for (const vbd of rec.VBDs as string[]) c.store.destroy('VBD', vbd)
  const sr = String(rec.SR)
  const srRec = c.store.get('SR', sr)
  const allocation = Math.max(0, Number(srRec.virtual_allocation) - Number(rec.virtual_size))
  c.store.destroy('VDI', ref)
  c.store.update('SR', sr, { virtual_allocation: allocation, physical_utilisation: allocation })
  c.sim.disks.delete(ref)
}

/** The metadata xapi copies onto a clone or a snapshot (Xapi_vdi.snapshot_and_clone). */
const COPIED = ['name_label', 'name_description', 'type', 'sharable', 'other_config', 'xenstore_data', 'on_boot', 'allow_caching', 'tags']

export function cloneVdi(c: Ctx, src: string, readOnly = false): string {
  const rec = c.store.get('VDI', src)
  const fields: XRecord = {}
  for (const k of COPIED) fields[k] = structuredClone(rec[k] as Value)
  const ref = createVdi(c, { ...fields, SR: rec.SR!, virtual_size: rec.virtual_size!, read_only: readOnly, sm_config: {} })
  const data = c.sim.disks.get(src)
  if (data) c.sim.disks.set(ref, data.clone())
  return ref
}

/**
 * Xapi_vdi.snapshot: a read-only copy of the data in the same SR (what SM returns for a
 * VHD snapshot), with the parent's metadata, is_a_snapshot and snapshot_of set. A
 * sharable VDI cannot be snapshotted (VDI_IS_SHARABLE), nor one busy with another operation.
 */
export function snapshotVdi(c: Ctx, src: string): string {
  const rec = c.store.get('VDI', src)
  if (rec.sharable === true) throw fault('VDI_IS_SHARABLE', src)
  assertVdiOperation(c, src, 'snapshot')
  const ref = cloneVdi(c, src, true)
  c.store.update('VDI', ref, { is_a_snapshot: true, snapshot_of: src, snapshot_time: new Date().toISOString() })
  c.store.update('VDI', src, { snapshots: [...(c.store.get('VDI', src).snapshots as string[]), ref] })
  return ref
}

/**
 * Xapi_vdi.copy: into `into` when it is a valid VDI (the way to put a snapshot's data
 * back into its parent: VDI.revert is internal), else into a new VDI in `sr`. The
 * destination must be writable and at least as large; sparse_dd makes its first
 * virtual_size bytes equal to the source's. An attached destination cannot be opened
 * for writing (VDI_IN_USE). base_vdi only saves copying unchanged blocks: same result.
 */
export function copyVdi(c: Ctx, src: string, sr: string, into: string): string {
  const rec = c.store.get('VDI', src)
  if (rec.managed === false) throw fault('VDI_NOT_MANAGED', src)
  const dst = c.store.classOf(into) === 'VDI' ? into : createCopyTarget(c, rec, sr)
  const d = c.store.get('VDI', dst)
  if (d.read_only === true) throw fault('VDI_READONLY', dst)
  if (Number(d.virtual_size) < Number(rec.virtual_size)) throw fault('VDI_TOO_SMALL', dst, String(rec.virtual_size))
  for (const vbd of d.VBDs as string[]) {
    if (c.store.get('VBD', vbd).currently_attached) throw fault('VDI_IN_USE', dst, 'copy')
  }
  const from = c.sim.disks.get(src)
  const to = c.sim.disks.get(dst)
  if (from && to) {
    const size = Number(rec.virtual_size)
    for (const b of to.dataBlocks()) if (b * BLOCK < size) to.write(b * BLOCK, Buffer.alloc(Math.min(BLOCK, size - b * BLOCK)))
    for (const b of from.dataBlocks()) to.write(b * BLOCK, from.read(b * BLOCK, BLOCK))
    c.store.update('VDI', dst, { physical_utilisation: to.allocated })
  }
  return dst
}

function createCopyTarget(c: Ctx, rec: Readonly<XRecord>, sr: string): string {
  c.store.get('SR', sr)
  const fields: XRecord = {}
  for (const k of COPIED) fields[k] = structuredClone(rec[k] as Value)
  return createVdi(c, { ...fields, SR: sr, virtual_size: rec.virtual_size!, read_only: false, sm_config: {} })
}

export const vdiHandlers: Handlers = {
  'VDI.create': (c, [rec]) => createVdi(c, constructorFields('VDI', rec)),
  'VDI.destroy': (c, [ref]) => destroyVdi(c, String(ref)),
  'VDI.clone': (c, [ref]) => cloneVdi(c, String(ref)),
  'VDI.snapshot': (c, [ref]) => snapshotVdi(c, String(ref)),
  'VDI.copy': (c, [ref, sr, , into]) => copyVdi(c, String(ref), String(sr), String(into)),
  'VDI.set_name_label': (c, [ref, v]) => c.store.update('VDI', String(ref), { name_label: String(v) }),
  'VDI.set_name_description': (c, [ref, v]) => c.store.update('VDI', String(ref), { name_description: String(v) }),
}
