import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import type { VdiDetailRecord } from '../xapi/records.js'
import { settledMap, type DataMap } from '../upload/find/data-map.js'
import { layoutOf, parseCheckpoint, sameLayout, type Checkpoint } from '../upload/resume/checkpoint.js'
import type { RunState } from './steps.js'
import { hasCode } from '../xapi/errors.js'
import { INCOMPLETE_KEY, isMarkedFor } from './marks.js'

export { VM_KEY, markOf, isMarkedFor } from './marks.js'

/** SM rounds VHD-based VDIs up to 2 MiB (docs/xapi-semantics §8.11): the same request may come back larger. */
const SIZE_ROUNDING = 2 * 1024 * 1024

export interface PartialVdis {
  /** The VDI to resume, if any: the one that got furthest. */
  resume?: { ref: string; record: VdiDetailRecord; checkpoint: Checkpoint | undefined }
  /** Our earlier partial uploads for this VM that this image cannot resume: another image, size or SR. */
  stale: (VdiDetailRecord & { ref: string; why: string })[]
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
export async function findPartialVdis(
  x: XapiConnection,
  o: { vmName: string; sr: string; virtualSize: number; map: DataMap; vdis?: Record<string, VdiDetailRecord> | undefined },
): Promise<PartialVdis> {
  // Only a candidate needs the layout, so a raw.xz still being decompressed (data-map.ts, settled) is waited for only then.
  let mine: ReturnType<typeof layoutOf> | undefined
  const out: PartialVdis = { stale: [] }
  for (const [ref, v] of Object.entries(o.vdis ?? (await VDI.get_all_records(x)))) {
    if (!isMarkedFor(v.other_config, o.vmName) || v.VBDs.length || v.is_a_snapshot || !v.managed) continue
    const { identity, checkpoint } = parseCheckpoint(v.other_config)
    if (!identity) continue
    mine ??= layoutOf(await settledMap(o.map))
    const sameSize = v.virtual_size >= o.virtualSize && v.virtual_size - o.virtualSize < SIZE_ROUNDING
    const why =
      v.SR !== o.sr
        ? 'it is on another SR'
        : !sameSize
          ? `it has ${v.virtual_size} bytes, not ${o.virtualSize}`
          : !sameLayout(identity, mine)
            ? `it holds part of another image (${identity.size} bytes)`
            : undefined
    if (why) {
      out.stale.push({ ...v, ref, why })
      continue
    }
    const superseded = 'another copy of this upload got further'
    if (!out.resume || (checkpoint?.offset ?? 0) > (out.resume.checkpoint?.offset ?? 0)) {
      if (out.resume) out.stale.push({ ...out.resume.record, ref: out.resume.ref, why: superseded })
      out.resume = { ref, record: v, checkpoint }
    } else {
      out.stale.push({ ...v, ref, why: superseded })
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

/**
 * Partial uploads of this VM name that this image cannot resume: the image changed (or
 * the recipe's size or SR did) since the run that made them failed. They are this
 * tool's own unfinished disks for this very name, attached to nothing, and the claim
 * (claim.ts) rules out a run still writing to them; kept, each would leak a disk per
 * changed image. The re-run removes them and says so. Only those still marked
 * incomplete: a mark removed by hand means someone wants it kept. `left` is what the
 * vdi.create step gets: the VDI to resume and the stale ones it only warns about.
 */
export function replaceablePartials(found: PartialVdis): { replaced: PartialVdis['stale']; left: PartialVdis } {
  const replaced = found.stale.filter((v) => v.other_config[INCOMPLETE_KEY] === 'true')
  return { replaced, left: { ...(found.resume ? { resume: found.resume } : {}), stale: found.stale.filter((v) => !replaced.includes(v)) } }
}

export async function removePartials(x: XapiConnection, vdis: PartialVdis['stale'], vmName: string): Promise<string[]> {
  const removed: string[] = []
  for (const v of vdis) {
    await VDI.destroy(x, v.ref).catch((e: unknown) => {
      if (!hasCode(e, 'HANDLE_INVALID')) throw e
    })
    removed.push(`VDI ${v.name_label} (${v.uuid}), an unfinished upload for "${vmName}" that this run cannot resume: ${v.why}`)
  }
  return removed
}
