import type { Handlers } from '../context.js'
import { NULL_REF, type XRecord } from '../datamodel/model.js'
import { cloneVm } from './vm.js'
import { copyVdi } from './vdi.js'

/**
 * VM.copy (xapi_vm_clone.ml with Disk_op_copy): a clone whose disks are full copies,
 * into `sr`, or each into its own SR when `sr` is null. Same checks as clone (operation
 * copy: Halted, templates allowed).
 */
function copyVm(c: Parameters<Handlers[string]>[0], src: string, name: string, sr: string): string {
  const toSr = (vdi: string): string => (sr !== NULL_REF && sr !== '' ? sr : String(c.store.get('VDI', vdi).SR))
  if (sr !== NULL_REF && sr !== '') c.store.get('SR', sr)
  return cloneVm(c, src, name, (vdi) => copyVdi(c, vdi, toSr(vdi), NULL_REF), 'copy')
}

/** Device numbers as xapi reads them from a userdevice or device: "1", "xvdb", "hdb", "sdb". */
function diskNumber(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s)
  const m = /^(?:xvd|hd|sd)([a-z]+)\d*$/.exec(s)
  if (!m) return undefined
  return [...m[1]!].reduce((n, ch) => n * 26 + (ch.charCodeAt(0) - 96), 0) - 1
}

/** Xapi_vm_helpers.allowed_VBD_devices for disks: 0..254 (0..255 for a control domain) less those in use. */
function allowedVbdDevices(store: Parameters<Handlers[string]>[0]['store'], vm: Readonly<XRecord>): string[] {
  const used = new Set<number>()
  for (const v of vm.VBDs as string[]) {
    const b = store.get('VBD', v)
    for (const s of [String(b.device), String(b.userdevice)]) {
      const n = diskNumber(s)
      if (n !== undefined) used.add(n)
    }
  }
  const last = vm.is_control_domain === true ? 255 : 254
  return Array.from({ length: last + 1 }, (_, i) => i)
    .filter((i) => !used.has(i))
    .map(String)
}

export const vmCopyHandlers: Handlers = {
  'VM.copy': (c, [vm, name, sr]) => copyVm(c, String(vm), String(name), String(sr)),
  'VM.get_allowed_VBD_devices': (c, [vm]) => allowedVbdDevices(c.store, c.store.get('VM', String(vm))),
}
