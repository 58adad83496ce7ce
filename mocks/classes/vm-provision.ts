import { fault } from '../fault.js'
import type { Ctx } from '../context.js'
import { parseXml } from '../codec/xml.js'
import { createVdi } from './vdi.js'

interface DiskSpec {
  device: string
  size: number
  sr: string
  bootable: boolean
  type: string
}

/** other_config:disks holds <provision><disk device size sr bootable type/></provision>. */
function parseDisks(xml: string): DiskSpec[] {
  let doc
  try {
    doc = parseXml(xml)
  } catch (e) {
    throw fault('INTERNAL_ERROR', `Xapi_templates.Parse_failure: ${(e as Error).message}`)
  }
  if (doc.name !== 'provision') throw fault('INTERNAL_ERROR', 'Xapi_templates.Parse_failure: expected <provision>')
  return doc.children
    .filter((d) => d.name === 'disk')
    .map((d) => {
      const attrs = d.attrs
      for (const a of ['device', 'size', 'sr', 'bootable']) {
        if (!(a in attrs)) throw fault('INTERNAL_ERROR', `Xapi_templates.Parse_failure: disk lacks ${a}`)
      }
      return {
        device: attrs.device!,
        size: Number(attrs.size),
        sr: attrs.sr!,
        bootable: attrs.bootable === 'true',
        type: attrs.type ?? 'system',
      }
    })
}

/**
 * VM.provision's body: the VM stops being a template whether or not there is anything
 * to install, then each <disk> becomes a VDI plus a VBD. Created objects are removed
 * again if a later disk fails.
 */
export function provisionDisks(c: Ctx, vm: string): void {
  c.store.update('VM', vm, { is_a_template: false })
  const other = c.store.get('VM', vm).other_config as Record<string, string>
  const disks = other.disks ? parseDisks(other.disks) : []
  const created: [string, string][] = []
  try {
    for (const d of disks) {
      const sr = c.store.find('SR', (r) => r.uuid === d.sr)[0]?.[0]
      if (!sr) throw fault('UUID_INVALID', 'sr', d.sr)
      const vdi = createVdi(c, {
        name_label: '',
        name_description: 'Created by template provisioner',
        SR: sr,
        virtual_size: d.size,
        type: d.type,
        sharable: false,
        read_only: false,
        other_config: {},
        sm_config: { vmhint: String(c.store.get('VM', vm).uuid) },
      })
      created.push(['VDI', vdi])
      const vbd = c.store.create('VBD', {
        VM: vm,
        VDI: vdi,
        userdevice: d.device,
        bootable: d.bootable,
        mode: 'RW',
        type: 'Disk',
        unpluggable: d.type !== 'system',
        empty: false,
        other_config: { owner: '' },
      })
      created.push(['VBD', vbd])
      c.store.update('VDI', vdi, { name_label: d.device })
    }
  } catch (e) {
    for (const [cls, ref] of created.reverse()) if (c.store.has(ref)) c.store.destroy(cls, ref)
    throw e
  }
  const rest = { ...(c.store.get('VM', vm).other_config as Record<string, string>) }
  delete rest.disks
  delete rest.postinstall
  c.store.update('VM', vm, { other_config: rest })
}
