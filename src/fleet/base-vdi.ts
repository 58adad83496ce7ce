import { basename } from 'node:path'
import * as VDI from '../xapi/vdi.js'
import { rollback } from '../provision/rollback.js'
import { findTasksOf, removeTasks } from '../provision/leftovers.js'
import { keepPartialUpload } from '../provision/partial-vdi.js'
import type { UploadTuning } from '../upload/upload.js'
import type { RunState } from '../provision/steps.js'
import type { UploadProgress } from '../upload/send/import-raw-vdi.js'
import type { XapiConnection } from '../xapi/connection.js'
import { TAG } from './inventory.js'
import { BASE_LABEL_PREFIX } from './pool-leftovers.js'
import type { VmPlan } from './planner.js'
import { step, stepContext } from './steps.js'

export interface BaseOutcome {
  ref: string
  uuid: string
  bytesSent: number
  /** The base's other_config once complete: each clone's starts as a copy of it (VDI.clone copies it). */
  other_config: Record<string, string>
}

/**
 * The SR's copy of the image, uploaded once and cloned for every VM. The hash tag goes
 * on only after the upload succeeded: a half-written VDI must never pass for a base.
 * `first` is the VM that needed it first; its plan gives the step context.
 */
/** The base's upload failed after a checkpoint: the VDI stays (still marked) for the next rollout to resume. */
export class KeptPartialBase extends Error {
  override name = 'KeptPartialBase'
  constructor(
    override readonly cause: unknown,
    readonly kept: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause))
  }
}

export async function ensureBase(x: XapiConnection, first: VmPlan, onUpload: (p: UploadProgress) => void, signal?: AbortSignal, upload?: UploadTuning): Promise<BaseOutcome> {
  const b = first.base!
  if (b.existing) return { ...b.existing, bytesSent: 0 }
  const sha = b.info.sha256
  const label = `${BASE_LABEL_PREFIX}${basename(b.image)} ${sha.slice(0, 12)}`
  // The upload mark goes on at creation, so a rollout killed mid-upload leaves a VDI the
  // next one recognises and uploads into (resuming from its checkpoint) instead of leaking it.
  const ref =
    b.partial?.ref ??
    (await VDI.create(x, {
      name_label: label,
      name_description: `sha256 ${sha}. Uploaded once by xcp-provision; fleet VMs get VDI.clone of it. Safe to delete when no rollout runs: the next one uploads again.`,
      SR: b.sr.ref,
      virtual_size: b.size,
      type: b.type,
      sharable: false,
      read_only: false,
      other_config: { [TAG.baseUpload]: sha },
    }))
  // Resuming: the killed rollout's upload tasks for this VDI go first.
  if (b.partial) await removeTasks(x, await findTasksOf(x, new Set([b.partial.ref])))
  const state: RunState = { created: [{ cls: 'VDI', ref, label }], vdi: ref }
  try {
    await step('upload').run(stepContext(x, first, first.spec.recipe, label, state, onUpload, signal, upload))
    // Its own uuid first (a resumed VDI may have it already), so no clone can ever pass for it;
    // then the hash, then the mark off: a crash in between leaves a usable base, never an unknown VDI.
    const rec = await VDI.get_record(x, ref)
    if (!(TAG.base in rec.other_config)) await VDI.add_to_other_config(x, ref, TAG.base, rec.uuid)
    await VDI.add_to_other_config(x, ref, TAG.imageSha256, sha)
    await VDI.remove_from_other_config(x, ref, TAG.baseUpload)
    const other_config: Record<string, string> = { ...rec.other_config, [TAG.base]: rec.uuid, [TAG.imageSha256]: sha }
    delete other_config[TAG.baseUpload]
    return { ref, uuid: rec.uuid, bytesSent: state.upload?.bytesSent ?? 0, other_config }
  } catch (e) {
    // As provision does: a VDI holding a checkpoint leaves the rollback list and stays marked.
    const kept = keepPartialUpload(state)
    await rollback(x, state)
    throw kept ? new KeptPartialBase(e, kept) : e
  }
}
