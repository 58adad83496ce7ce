import type { XapiConnection } from '../xapi/connection.js'
import type { Recipe } from '../recipe/schema.js'
import type { UploadProgress } from '../upload/send/import-raw-vdi.js'
import type { UploadEvent, UploadResult, UploadTuning } from '../upload/upload.js'
import type { Checkpoint } from '../upload/resume/checkpoint.js'
import type { VerifyProgress, VerifyResult } from '../upload/verify/verify.js'
import type { DataMap } from '../upload/find/data-map.js'
import type { Targets } from './lookup.js'
import type { PartialVdis } from './partial-vdi.js'
import type { FirstBoot } from './first-boot.js'
import type { Ready } from '../wait/watch.js'

/** What the run has created or learnt so far; rollback reads `created`. */
export interface RunState {
  created: { cls: 'VDI' | 'VM' | 'VIF' | 'VBD'; ref: string; label: string }[]
  /** The cloud-init config drive and its VBD (first-boot-steps.ts). */
  drive?: { vdi: string; vbd?: string }
  /** What --wait saw once the guest was ready. */
  ready?: Ready
  vdi?: string
  vm?: string
  /** The last checkpoint the VDI is known to hold; set until the upload completes. */
  checkpoint?: Checkpoint | undefined
  upload?: UploadResult
  verified?: VerifyResult
}

export interface StepContext {
  x: XapiConnection
  recipe: Recipe
  vmName: string
  image: string
  map: DataMap
  targets: Targets
  state: RunState
  allowUnauthorized: boolean
  onUpload: (p: UploadProgress) => void
  onVerify?: (p: VerifyProgress) => void
  /** Retries, resumes and other notices a step wants the user to see. */
  onEvent?: (e: UploadEvent | { type: 'warning'; message: string }) => void
  /** Read the VDI back after the upload and compare it with the image (--verify). */
  verify?: boolean
  upload?: UploadTuning
  signal?: AbortSignal | undefined
  /** The config drive's user data and what --wait waits for (first-boot.ts). */
  firstBoot?: FirstBoot
  /**
   * This VM name's unfinished uploads as the lookups found them (run.ts): the VDI to resume,
   * and those this image cannot resume that the run kept. Absent, vdi.create reads them.
   */
  partials?: PartialVdis
}

export type PlanInput = Pick<StepContext, 'recipe' | 'vmName' | 'image' | 'map' | 'targets' | 'verify' | 'upload' | 'firstBoot' | 'partials'>

/** One step of the run: `Id` is its literal id where the step is declared (steps.ts's StepId). */
export interface Step<Id extends string = string> {
  id: Id
  title: string
  /** The XAPI calls this step makes, for --dry-run; never contains secrets. */
  calls(c: PlanInput): string[]
  /** True when the run has nothing to do in this step (an option is off): no step events. */
  skip?(c: PlanInput): boolean
  run(c: StepContext): Promise<void>
}

export const need = (v: string | undefined, what: string): string => {
  if (!v) throw new Error(`internal: ${what} is not known yet`)
  return v
}

export const vdiName = (recipe: Recipe, vmName: string): string => recipe.vdi.name_label.replaceAll('{name}', vmName)
