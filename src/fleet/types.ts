import type { UploadTuning } from '../upload/upload.js'
import type { Timeouts } from '../xapi/timeouts.js'
import { z } from 'zod'
import { HostReportOut } from '../provision/types.js'
import type { Fleet, FleetInput } from './schema.js'
import type { RetryPolicy } from './scoped.js'
import { SettingDiff } from '../provision/settings.js'
import type { Confirm } from '../provision/consent.js'

/**
 * What the planner decided for a VM: `create` a missing one; `none` when it matches;
 * `update` to apply the file's changes (and, with --reconcile, drift) in place; `reconcile`
 * to change drift back (--reconcile, no change of the file); `drift` to report drift only;
 * `replace` to destroy and make it anew (a boot mode change, with --replace); `fail` when it
 * cannot be made or changed.
 */
export const VmAction = z.enum(['create', 'none', 'update', 'drift', 'reconcile', 'replace', 'fail'])
export type VmAction = z.infer<typeof VmAction>

/** How it ended: `planned` on --dry-run, `skipped` when --fail-fast stopped it before it began. */
export const VmState = z.enum(['planned', 'created', 'unchanged', 'updated', 'drift', 'reconciled', 'replaced', 'failed', 'skipped'])
export type VmState = z.infer<typeof VmState>

/** A difference between the VM and the file: the file's `change` or the pool's `drift` (src/provision/settings.ts). */
export const Drift = SettingDiff
export type Drift = SettingDiff

export const ErrorInfo = z.object({
  /** The stable code (docs/cli.md, src/errors.ts ERROR_CODES), or XAPI's own. */
  code: z.string().optional(),
  what: z.string(),
  why: z.string(),
  fix: z.string(),
  removed: z.array(z.string()),
  kept: z.array(z.string()),
})
export type ErrorInfo = z.infer<typeof ErrorInfo>

export const VmResult = z.object({
  name: z.string(),
  pool: z.string(),
  host: z.string().nullable(),
  sr: z.string().nullable(),
  action: VmAction,
  /** The action halts, reboots or replaces a running VM (or replaces a halted one): applying it needs consent (--yes, or y on a terminal). */
  disruptive: z.boolean(),
  state: VmState,
  uuid: z.string().nullable(),
  mac: z.string().nullable(),
  drift: z.array(Drift),
  duration_ms: z.number(),
  /** XAPI calls made for this VM alone (shared reads, bases and templates are counted apart). */
  calls: z.number(),
  error: ErrorInfo.nullable(),
  /** Objects an interrupted earlier rollout left of this VM: planned for removal, or removed. */
  leftovers: z.array(z.string()),
  /** Disks that once belonged to this fleet VM and now have no VM (destroyed by hand): never removed, only reported. */
  left_in_place: z.array(z.string()),
  /** The static address from its group's address pool (recorded on the VM as other_config xcp-provision:address), or null. */
  address: z.string().nullable(),
  /** The wave that makes or changes it (from 1), or null when the run does nothing to it. */
  wave: z.number().nullable(),
  /** With a group wait, once the guest was ready: every usable address it reports, the time it took and the probes that held. */
  ready: z.object({ ips: z.array(z.string()), ready_after_ms: z.number(), probes: z.array(z.string()) }).nullable(),
})
export type VmResult = z.infer<typeof VmResult>

export const BaseResult = z.object({
  pool: z.string(),
  sr: z.string(),
  sr_uuid: z.string(),
  image: z.string(),
  image_sha256: z.string(),
  vdi_uuid: z.string().nullable(),
  /** `reuse`: a base with this hash was already there; `upload`: this run imported it; `resume`: into the VDI an interrupted rollout left half-uploaded. */
  action: z.enum(['reuse', 'upload', 'resume']),
  state: z.enum(['planned', 'ready', 'failed']),
  bytes_sent: z.number(),
  error: ErrorInfo.nullable(),
})
export type BaseResult = z.infer<typeof BaseResult>

export const TemplateResult = z.object({
  pool: z.string(),
  name: z.string(),
  settings_sha256: z.string(),
  uuid: z.string().nullable(),
  action: z.enum(['reuse', 'build']),
  state: z.enum(['planned', 'ready', 'failed']),
  error: ErrorInfo.nullable(),
})
export type TemplateResult = z.infer<typeof TemplateResult>

export const RolloutResult = z.object({
  fleet: z.string(),
  dry_run: z.boolean(),
  reconcile: z.boolean(),
  /** False when any VM failed or was skipped. */
  ok: z.boolean(),
  vms: z.array(VmResult),
  bases: z.array(BaseResult),
  templates: z.array(TemplateResult),
  /** VMs tagged with this fleet that the fleet file no longer names: reported, never touched. */
  extras: z.array(z.object({ name: z.string(), pool: z.string(), uuid: z.string() })),
  /** Per pool, what interrupted rollouts left that belongs to no one VM (half-built templates, untagged disk clones): planned for removal, or removed. */
  pool_leftovers: z.array(z.object({ pool: z.string(), leftovers: z.array(z.string()), error: ErrorInfo.nullable() })),
  /** Per pool: the login error, or the release and capabilities of its master and hosts (as provision's `host`), and warnings. */
  pools: z.array(z.object({ name: z.string(), url: z.string(), error: ErrorInfo.nullable(), host: HostReportOut.nullable(), warnings: z.array(z.string()) })),
  calls: z.object({ total: z.number(), setup: z.number(), vms: z.number() }),
  /**
   * The waves in order: `planned` on --dry-run, `ready` when every VM of it was made (and ready), `failed` at the first
   * wave with a failed VM, `skipped` for the waves after it (their VMs are not made).
   */
  waves: z.array(z.object({ wave: z.number(), vms: z.array(z.string()), state: z.enum(['planned', 'ready', 'failed', 'skipped']), error: ErrorInfo.nullable() })),
  /** The first wave that failed, or null. */
  failed_wave: z.number().nullable(),
  duration_ms: z.number(),
})
export type RolloutResult = z.infer<typeof RolloutResult>

export type RolloutEvent =
  | { type: 'plan'; vms: { name: string; pool: string; host: string | null; action: VmAction }[] }
  | { type: 'vm-step'; vm: string; step: string; title: string }
  | { type: 'vm-done'; vm: string; state: VmState; ms: number; error: ErrorInfo | null }
  | { type: 'base'; pool: string; sr: string; phase: 'upload' | 'ready' | 'failed'; sent: number; total: number }
  /** A large image's sha256 (its base VDI's name), hashed on a worker: how far, every 256 MiB; none when the cache had it. */
  | { type: 'image-hash'; image: string; hashed: number; total: number }
  | { type: 'template'; pool: string; name: string; phase: 'build' | 'ready' | 'failed' }
  | { type: 'retry'; vm: string | null; method: string; code: string; attempt: number }
  /** A wave begins, or ends with every VM ready, or ends with a failure (the later waves are not started). */
  | { type: 'wave'; wave: number; phase: 'start' | 'ready' | 'failed'; vms: string[] }

export interface RolloutOptions {
  /** A fleet file path, or the fleet as data (then `baseDir` resolves its recipes and images). */
  fleet: string | FleetInput | Fleet
  baseDir?: string
  /** Plan and report (as a diff), change nothing. */
  dryRun?: boolean
  /** Also change drifted VMs back to the fleet's settings (the file's own changes are always applied). */
  reconcile?: boolean
  /** Destroy and make anew the VMs whose changes cannot be made in place (a boot mode); without it they fail. */
  replace?: boolean
  /** Consent to disruptive actions (halting, rebooting or replacing a VM) given up front, as --yes. */
  yes?: boolean
  /** Asked when the plan has disruptive actions and `yes` is not set; without it such a plan is refused (consent-required), nothing changed. */
  confirm?: Confirm
  /** VMs in flight at once across all hosts; overrides the fleet file (default 16). */
  concurrency?: number
  /** VMs in flight at once on one host; overrides the fleet file (default 4). */
  perHost?: number
  /** Stop starting VMs after the first failure. */
  failFast?: boolean
  /** Make (or change) this many VMs at a time, each wave only once the one before is ready (its VMs started and, with a group wait, their guests ready). */
  wave?: number
  /** The first VM the run makes or changes goes alone, in a wave of its own, before the others. */
  canary?: boolean
  /** Upload images that the pygrub preflight says cannot boot (as provision --skip-preflight). */
  skipPreflight?: boolean
  /** Where credentials are looked up by the names the fleet file gives (default process.env). */
  env?: Record<string, string | undefined>
  onEvent?: (e: RolloutEvent) => void
  signal?: AbortSignal
  /** Back-off on TOO_MANY_PENDING_TASKS / OTHER_OPERATION_IN_PROGRESS. */
  retry?: Partial<RetryPolicy>
  /** Segment size and retry policy of base uploads; for tests and benchmarks (the CLI keeps the defaults). */
  upload?: UploadTuning
  /** Connect, response and idle limits for every XAPI call and transfer (src/xapi/timeouts.ts). */
  timeouts?: Partial<Timeouts>
}
