import { fault } from '../fault.js'
import type { Handlers } from '../context.js'
import { NULL_REF } from '../datamodel/model.js'
import { constructorFields } from './generic.js'

const ATTACHABLE_VDI_TYPES = new Set(['system', 'user', 'ephemeral', 'suspend', 'crashdump', 'metadata', 'rrd', 'pvs_cache'])

/** Device names that mean the same slot as "N" (Xapi_vbd_helpers device aliases). */
function aliases(userdevice: string): Set<string> {
  const n = /^\d+$/.test(userdevice) ? Number(userdevice) : deviceNumber(userdevice)
  if (n === undefined) return new Set([userdevice])
  const letter = String.fromCharCode(97 + n)
  return new Set([String(n), `xvd${letter}`, `hd${letter}`, `sd${letter}`])
}

function deviceNumber(name: string): number | undefined {
  const m = /^(?:xvd|hd|sd)([a-z])$/.exec(name)
  return m ? m[1]!.charCodeAt(0) - 97 : undefined
}

function validDevice(d: string): boolean {
  return d === 'autodetect' || /^\d+$/.test(d) || /^(xvd|hd|sd)[a-z]+\d*$/.test(d)
}

export const vbdHandlers: Handlers = {
  'VBD.create': (c, [rec]) => {
    const f = constructorFields('VBD', rec)
    const vm = c.store.get('VM', String(f.VM))
    const empty = Boolean(f.empty)
    if (!empty) {
      const vdi = c.store.get('VDI', String(f.VDI))
      if (!ATTACHABLE_VDI_TYPES.has(String(vdi.type))) throw fault('VDI_INCOMPATIBLE_TYPE', String(f.VDI), String(vdi.type))
      if (f.mode === 'RW' && vdi.read_only) throw fault('VDI_READONLY', String(f.VDI))
    }
    if (f.type === 'CD' && f.mode !== 'RO') throw fault('VBD_CDS_MUST_BE_READONLY')
    if (f.type !== 'CD' && empty) throw fault('VBD_NOT_REMOVABLE_MEDIA', 'in constructor')
    let userdevice = String(f.userdevice)
    if (!validDevice(userdevice)) throw fault('INVALID_DEVICE', userdevice)
    const taken = new Set((vm.VBDs as string[]).flatMap((v) => [...aliases(String(c.store.get('VBD', v).userdevice))]))
    if (userdevice === 'autodetect') {
      userdevice = String(Array.from({ length: 16 }, (_, i) => i).find((i) => !taken.has(String(i))) ?? 16)
    }
    for (const a of aliases(userdevice)) if (taken.has(a)) throw fault('DEVICE_ALREADY_EXISTS', String(f.userdevice))
    const suspended = vm.power_state === 'Suspended'
    return c.store.create('VBD', {
      ...f,
      VDI: empty ? NULL_REF : f.VDI,
      userdevice,
      device: suspended ? f.device : '',
      currently_attached: suspended ? f.currently_attached : false,
      storage_lock: false,
      status_code: 0,
      allowed_operations: ['attach'],
    })
  },
  'VBD.destroy': (c, [ref]) => {
    const r = String(ref)
    if (c.store.get('VBD', r).currently_attached) throw fault('DEVICE_ALREADY_ATTACHED', r)
    c.store.destroy('VBD', r)
  },
}
