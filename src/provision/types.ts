import { z } from 'zod'
import type { Recipe } from '../recipe/schema.js'

export interface ProvisionOptions {
  recipe: Recipe
  /** VM name-label; defaults to the recipe's name. */
  name?: string
  /** Raw image to upload; defaults to the recipe's image. */
  image: string
  url: string
  user: string
  password: string
  allowUnauthorized?: boolean
  dryRun?: boolean
  keepOnFailure?: boolean
  onEvent?: (e: ProvisionEvent) => void
  /** Abort (SIGINT, SIGTERM): cancel the running task, roll back, fail with exit code 130. */
  signal?: AbortSignal
}

export type ProvisionEvent =
  | { type: 'step'; step: string; title: string }
  | { type: 'step-done'; step: string; ms: number }
  | { type: 'upload'; sent: number; total: number }
  | { type: 'rollback'; removed: string[]; kept: string[] }

export const ProvisionResult = z.object({
  vm: z.object({ uuid: z.string(), ref: z.string(), name: z.string(), power_state: z.string() }),
  vdi: z.object({ uuid: z.string(), ref: z.string(), virtual_size: z.number() }),
  mac: z.string(),
  sr: z.object({ uuid: z.string(), name_label: z.string() }),
  upload: z.object({ image_size: z.number(), data_bytes: z.number(), bytes_sent: z.number(), regions: z.number() }),
  steps: z.array(z.object({ step: z.string(), ms: z.number() })),
  duration_ms: z.number(),
})
export type ProvisionResult = z.infer<typeof ProvisionResult>

export const PlannedCall = z.object({ step: z.string(), call: z.string() })
export const DryRunResult = z.object({
  dry_run: z.literal(true),
  vm_name: z.string(),
  sr: z.object({ uuid: z.string(), name_label: z.string() }),
  template: z.string(),
  network: z.string(),
  mac: z.string(),
  upload: z.object({ image_size: z.number(), data_bytes: z.number(), bytes_to_send: z.number(), regions: z.number() }),
  calls: z.array(PlannedCall),
})
export type DryRunResult = z.infer<typeof DryRunResult>
