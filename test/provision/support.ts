import { join } from 'node:path'
import { provision } from '../../src/provision/run.js'
import { loadRecipe } from '../../src/recipe/load.js'
import type { ProvisionEvent, ProvisionOptions, ProvisionResult } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'
import { MiB, scattered, tempDir, writeSparse } from '../upload/helpers.js'

/** 1 MiB segments cut the images below (4 MiB of data) into four; retries fail fast. */
export const UPLOAD = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }

/**
 * A synthetic sparse disk, 16 MiB unless asked, `pieces` MiB of data: no bootable system,
 * so no preflight and (start: false) no VM.start. Small because every run maps the whole
 * image (an image this small is read, holes included, src/upload/find).
 */
export async function syntheticImage(seed: number, pieces = 4, size = 16 * MiB): Promise<string> {
  const path = join(await tempDir(), `disk-${seed}.img`)
  await writeSparse(path, size, scattered(size, pieces, MiB, seed))
  return path
}

export type RunExtra = Partial<Omit<ProvisionOptions, 'recipe' | 'image' | 'url' | 'user' | 'password'>> & { events?: ProvisionEvent[]; start?: boolean }

/** provision() in-process against the simulator, with the freebsd-9 recipe (not started unless asked). */
export async function runProvision(sim: Simulator, image: string, extra: RunExtra = {}): Promise<ProvisionResult> {
  const { recipe } = await loadRecipe('freebsd-9')
  const { events, start, ...rest } = extra
  const r = await provision({
    recipe: { ...recipe, start: start ?? false },
    image,
    url: sim.url,
    ...sim.credentials,
    skipPreflight: true,
    upload: UPLOAD,
    onEvent: (e) => events?.push(e),
    ...rest,
  })
  if ('dry_run' in r) throw new Error('unexpected dry run')
  return r
}

export const warnings = (events: ProvisionEvent[]): string[] => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []))

/** VDIs, VMs (no templates, no dom0), VBDs, VIFs and pending tasks: what a run may leave. */
export function inventory(sim: Simulator): { vdis: string[]; vms: string[]; vbds: number; vifs: number; pending: string[] } {
  const o = sim.objects()
  return {
    vdis: Object.keys(o.VDI ?? {}),
    vms: Object.entries(o.VM ?? {})
      .filter(([, v]) => !v.is_a_template && !v.is_control_domain)
      .map(([r]) => r),
    vbds: Object.keys(o.VBD ?? {}).length,
    vifs: Object.keys(o.VIF ?? {}).length,
    pending: Object.values(o.task ?? {})
      .filter((t) => t.status === 'pending')
      .map((t) => String(t.name_label)),
  }
}
