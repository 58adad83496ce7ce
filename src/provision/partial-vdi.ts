import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import type { DataMap } from '../upload/data-map.js'
import { layoutOf, parseCheckpoint, sameLayout, type Checkpoint } from '../upload/checkpoint.js'
import type { RunState } from './steps.js'

/** Every VDI provision creates carries the VM name it was made for. */
export const VM_KEY = 'xcp-provision:vm'

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
    if (v.other_config[VM_KEY] !== o.vmName || v.SR !== o.sr || v.VBDs.length || v.is_a_snapshot || !v.managed) continue
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
