import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import type { DataMap } from '../upload/data-map.js'
import { layoutOf, parseCheckpoint, sameLayout, type Checkpoint } from '../upload/checkpoint.js'
import type { RunState } from './steps.js'

/** Every VDI provision creates carries the VM name it was made for (markOf). */
export const VM_KEY = 'xcp-provision:vm'

/**
 * Characters a name cannot be trusted to keep on its way to XAPI and back: XML-RPC
 * drops C0 controls but tab, LF and CR, XML parsers turn CR into LF, and C1 controls,
 * lone surrogates and U+FFFE/U+FFFF are not XML characters either. A leading quote is
 * reserved for the escaped form below.
 */
const FRAGILE = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|^"/

/**
 * The value of VM_KEY for a VM name: the name itself when every character survives the
 * wire, else its JSON form (ASCII escapes, starting with a quote, which no plain mark
 * does). The same name always gives the same mark, and two names never share one, so
 * resume and leftover lookups match by comparing marks, whatever the name holds.
 */
export const markOf = (vmName: string): string => (FRAGILE.test(vmName) ? JSON.stringify(vmName).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : vmName)

export const isMarkedFor = (otherConfig: Record<string, string>, vmName: string): boolean => otherConfig[VM_KEY] === markOf(vmName)

/** SM rounds VHD-based VDIs up to 2 MiB (docs/xapi-semantics §8.11): the same request may come back larger. */
const SIZE_ROUNDING = 2 * 1024 * 1024

export interface PartialVdis {
  /** The VDI to resume, if any: the one that got furthest. */
  resume?: { ref: string; record: VdiDetailRecord; checkpoint: Checkpoint | undefined }
  /** Our earlier partial uploads for this VM that hold another image: left alone, reported. */
  stale: VdiDetailRecord[]
}

/**
 * How a re-run finds its half-uploaded disk: by the VM name, which is the run's key (the
 * VM itself is created only after the upload, so a failed upload leaves no VM). A
 * candidate is a VDI tagged with this VM name, in the target SR, of the size the recipe
 * asks for, attached to nothing, and still carrying an upload identity (finished
 * uploads drop it). It is picked only when that identity has this image's layout (the
 * map alone says so, no hashing); upload.ts then resumes it when the content is the
 * same too, and rewrites it from the start when it is not.
 */
export async function findPartialVdis(x: XapiConnection, o: { vmName: string; sr: string; virtualSize: number; map: DataMap }): Promise<PartialVdis> {
  const mine = layoutOf(o.map)
  const out: PartialVdis = { stale: [] }
  for (const [ref, v] of Object.entries(await VDI.get_all_records(x))) {
    if (!isMarkedFor(v.other_config, o.vmName) || v.SR !== o.sr || v.VBDs.length || v.is_a_snapshot || !v.managed) continue
    const { identity, checkpoint } = parseCheckpoint(v.other_config)
    if (!identity) continue
    const sameSize = v.virtual_size >= o.virtualSize && v.virtual_size - o.virtualSize < SIZE_ROUNDING
    if (!sameSize || !sameLayout(identity, mine)) {
      out.stale.push(v)
      continue
    }
    if (!out.resume || (checkpoint?.offset ?? 0) > (out.resume.checkpoint?.offset ?? 0)) {
      if (out.resume) out.stale.push(out.resume.record)
      out.resume = { ref, record: v, checkpoint }
    } else {
      out.stale.push(v)
    }
  }
  return out
}

/**
 * On a failed upload, the VDI is worth keeping when it holds a checkpoint: the next run
 * continues from there instead of sending it all again. It leaves the rollback list;
 * the returned line says where it is. Failures after the upload roll it back as usual.
 */
export function keepPartialUpload(state: RunState): string | undefined {
  const c = state.checkpoint
  if (!c || c.offset === 0 || state.upload || !state.vdi) return undefined
  const i = state.created.findIndex((o) => o.cls === 'VDI' && o.ref === state.vdi)
  if (i < 0) return undefined
  const [vdi] = state.created.splice(i, 1)
  return `VDI ${vdi!.label} (${vdi!.ref}) holds the image's first ${c.offset} bytes: run the same command again to resume from there`
}
