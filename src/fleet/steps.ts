import type { Recipe } from '../recipe/schema.js'
import type { UploadProgress } from '../upload/send/import-raw-vdi.js'
import type { UploadTuning } from '../upload/upload.js'
import { STEP, type RunState, type Step, type StepContext, type StepId } from '../provision/steps.js'
import type { XapiConnection } from '../xapi/connection.js'
import type { VmPlan } from './planner.js'
import type { FirstBoot } from '../provision/first-boot.js'

/**
 * The fleet runs provision's own steps (src/provision/steps.ts) wherever one fits:
 * upload for a base VDI; install, PV, other-config, memory and VCPUs for a golden
 * template; VIF, VBD and start for each VM. By id (a StepId: a name provision does not
 * have fails to compile), so a step the upload work changes is picked up as it is.
 */
export const step = (id: StepId): Step => STEP[id]

/** A StepContext for a VM plan that is being created (sr, network, template and base are known). */
export function stepContext(
  x: XapiConnection,
  v: VmPlan,
  recipe: Recipe,
  vmName: string,
  state: RunState,
  onUpload: (p: UploadProgress) => void = () => undefined,
  signal?: AbortSignal,
  upload?: UploadTuning,
  firstBoot?: FirstBoot,
): StepContext {
  if (!v.sr || !v.network || !v.base || !v.template) throw new Error(`internal: ${v.spec.name} is not planned for creation`)
  return {
    x,
    recipe,
    vmName,
    image: v.spec.image,
    map: v.base.info.map,
    targets: { sr: v.sr, template: v.template.source, network: v.network, mac: v.mac ?? '' },
    state,
    // Trust comes from the connection (x.tls), which a pinned fingerprint already set up.
    allowUnauthorized: false,
    onUpload,
    signal,
    ...(upload ? { upload } : {}),
    ...(firstBoot ? { firstBoot } : {}),
  }
}
