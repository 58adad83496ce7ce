import { fault } from '../fault.js'
import type { Ctx, Handlers } from '../context.js'
import { roundVirtualSize } from './vdi.js'

const MiB = 1024 * 1024
const MAX_VHD_SIZE = 2040 * 1024 * MiB

/**
 * VDI.resize and PBD.plug/unplug (xapi_vdi.ml, xapi_pbd.ml and what SM answers). A disk
 * grows only while no VBD has it attached (VDI_IN_USE [vdi, resize]); SM's VHD driver
 * refuses to shrink or pass the VHD maximum (SR_BACKEND_FAILURE_79, XenError VDISize);
 * the SR drivers the simulator models (ext, nfs, lvm) lack VDI_RESIZE_ONLINE, so
 * resize_online is SR_OPERATION_NOT_SUPPORTED, as xapi says it before calling SM.
 */
function resize(c: Ctx, ref: string, size: number, online: boolean): void {
  const rec = c.store.get('VDI', ref)
  const srRef = String(rec.SR)
  const sr = c.store.get('SR', srRef)
  if (online) throw fault('SR_OPERATION_NOT_SUPPORTED', srRef)
  for (const vbd of rec.VBDs as string[]) if (c.store.get('VBD', vbd).currently_attached === true) throw fault('VDI_IN_USE', ref, 'resize')
  const busy = Object.entries(rec.current_operations as Record<string, string>)[0]
  if (busy) throw fault('OTHER_OPERATION_IN_PROGRESS', 'VDI', ref, busy[1], busy[0])
  const current = Number(rec.virtual_size)
  if (size < current) throw fault('SR_BACKEND_FAILURE_79', '', 'VDI Invalid size [opterr=shrinking not allowed]', '')
  if (size > MAX_VHD_SIZE) throw fault('SR_BACKEND_FAILURE_79', '', `VDI Invalid size [opterr=VDI size must be between 1 MB and ${MAX_VHD_SIZE / MiB} MB]`, '')
  const next = roundVirtualSize(String(sr.type), size)
  const allocation = Number(sr.virtual_allocation) + next - current
  if (allocation > Number(sr.physical_size)) throw fault('SR_BACKEND_FAILURE_44', '', 'There is insufficient space', '')
  // The contents keep their blocks; the disk reads zeros past the old end.
  const disk = c.sim.disks.get(ref)
  if (disk) disk.size = next
  c.store.update('VDI', ref, { virtual_size: next })
  c.store.update('SR', srRef, { virtual_allocation: allocation, physical_utilisation: allocation })
}

/** Xapi_pbd.unplug: refused while a VM on that host has a disk of the SR attached (VDI_IN_USE listing them). */
function unplug(c: Ctx, ref: string): void {
  const pbd = c.store.get('PBD', ref)
  if (pbd.currently_attached !== true) return
  const inUse = (c.store.get('SR', String(pbd.SR)).VDIs as string[]).filter((vdi) =>
    (c.store.get('VDI', vdi).VBDs as string[]).some((vbd) => {
      const b = c.store.get('VBD', vbd)
      return b.currently_attached === true && c.store.get('VM', String(b.VM)).resident_on === pbd.host
    }),
  )
  if (inUse.length > 0) throw fault('VDI_IN_USE', ...inUse)
  c.store.update('PBD', ref, { currently_attached: false })
}

export const storageHandlers: Handlers = {
  'VDI.resize': (c, [ref, size]) => resize(c, String(ref), Number(size), false),
  'VDI.resize_online': (c, [ref, size]) => resize(c, String(ref), Number(size), true),
  'PBD.plug': (c, [ref]) => {
    c.store.get('SR', String(c.store.get('PBD', String(ref)).SR))
    c.store.update('PBD', String(ref), { currently_attached: true })
  },
  'PBD.unplug': (c, [ref]) => unplug(c, String(ref)),
}
