import { z } from 'zod'
import type { Recipe } from '../recipe/schema.js'
import type { UploadEvent, UploadTuning } from '../upload/upload.js'
import type { VerifyProgress } from '../upload/verify/verify.js'
import type { Timeouts } from '../xapi/timeouts.js'
import type { Probe } from '../wait/probes.js'
import type { BootRecord } from '../wait/diagnose.js'
import type { Confirm } from './consent.js'

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
  /** Pin the host's self-signed certificate by its sha256 fingerprint. */
  fingerprint?: string
  dryRun?: boolean
  keepOnFailure?: boolean
  /** Upload without checking that pygrub can boot the image (src/preflight). */
  skipPreflight?: boolean
  /** When the preflight proposes --offset=<partition a>, put it in PV-bootloader-args. */
  fixOffset?: boolean
  onEvent?: (e: ProvisionEvent) => void
  /** Abort (SIGINT, SIGTERM): cancel the running task, roll back, fail with exit code 130. */
  signal?: AbortSignal
  /** Read the VDI back after the upload and compare it with the image, per segment. */
  verify?: boolean
  /** Segment size and retry policy; for tests and benchmarks, the CLI keeps the defaults. */
  upload?: UploadTuning
  /** Connect, response and idle limits for every XAPI call and transfer (src/xapi/timeouts.ts). */
  timeouts?: Partial<Timeouts>
  /** When the VM exists (made by the tool): also change drift made on the pool back to the recipe (the recipe's own changes are always applied). */
  reconcile?: boolean
  /** When the VM exists (made by the tool): destroy it and the disks the tool made for it, and make it anew. */
  replace?: boolean
  /** Consent given up front to changes that halt or replace the existing VM (--yes). */
  yes?: boolean
  /** Asked before such changes when `yes` is not set; without it they are refused (consent-required), nothing changed. */
  confirm?: Confirm
  /** Bounds on waiting for others; for tests, the CLI keeps the defaults (claim.ts, settle-operations.ts). */
  waits?: ProvisionWaits
  /** --wait probes, --wait-timeout (docs/first-boot.md); no probes: done when VM.start returns. */
  wait?: { probes: Probe[]; timeoutMs?: number | undefined; agentGraceMs?: number | undefined }
  /** --host sim: the firmware emulation's record of a VM's last boot, for the wait's diagnosis. */
  bootConsole?: (vm: string) => BootRecord | undefined
}

export interface ProvisionWaits {
  /** For another run of the same VM name to end (default 10 min). */
  claimMs?: number
  /** Before a claim whose owner cannot be checked is taken over (default 12 h). */
  claimStaleMs?: number
  /** For an operation an interrupted run left running on its leftovers (default 5 min). */
  operationMs?: number
  /** How often the two waits above look again. */
  pollMs?: number
}

export type ProvisionEvent =
  | { type: 'step'; step: string; title: string }
  | { type: 'step-done'; step: string; ms: number }
  | { type: 'upload'; sent: number; total: number }
  | ({ type: 'verify' } & VerifyProgress)
  | { type: 'rollback'; removed: string[]; kept: string[] }
  | { type: 'warning'; message: string }
  | UploadEvent

/** What the preflight did before the upload (docs/preflight.md). */
export const PreflightSummary = z.object({
  skipped: z.boolean(),
  /** PV-bootloader-args as set on the VM, after --fix-offset. */
  bootloader_args: z.string(),
  offset_fixed: z.number().nullable(),
  warnings: z.array(z.string()),
  /** ELF class of the kernel pygrub would load (pv, pvh): 32-bit PV needs xen-3.0-x86_32p. */
  kernel_elf_class: z
    .union([z.literal(32), z.literal(64)])
    .nullable()
    .optional(),
})
export type PreflightSummary = z.infer<typeof PreflightSummary>

const CapabilitiesOut = z.object({
  hvm: z.boolean(),
  pv: z.boolean(),
  pv32: z.boolean(),
  pvh: z.boolean(),
  uefi: z.boolean(),
  secure_boot_certificates: z.boolean(),
  import_formats: z.array(z.string()),
})
const HostOut = z.object({ name: z.string(), release: z.string(), api_version: z.string(), software_version: z.record(z.string(), z.string()), capabilities: CapabilitiesOut })
/** The detected release and capabilities (src/provision/capabilities.ts), in --json and --dry-run. */
export const HostReportOut = z.object({ master: HostOut, vm_hosts: z.array(HostOut) })

export const ProvisionResult = z.object({
  vm: z.object({ uuid: z.string(), ref: z.string(), name: z.string(), power_state: z.string() }),
  vdi: z.object({ uuid: z.string(), ref: z.string(), virtual_size: z.number() }),
  mac: z.string(),
  sr: z.object({ uuid: z.string(), name_label: z.string() }),
  upload: z.object({
    image_size: z.number(),
    data_bytes: z.number(),
    bytes_sent: z.number(),
    regions: z.number(),
    // docs/upload.md: what was read, how holes were found, segments, resume, retries, --verify.
    bytes_read: z.number().optional(),
    method: z.enum(['seek-data', 'scan', 'tables']).optional(),
    segments: z.number().optional(),
    resumed_from: z.number().optional(),
    retries: z.number().optional(),
    /** The pool host XAPI redirected the upload to (302), when the SR is plugged only there. */
    redirected_to: z.string().optional(),
    verified: z.boolean().optional(),
    /** --verify: segments read back and found equal to the image, of how many; bytes read. */
    verify: z.object({ segments_verified: z.number(), segments: z.number(), bytes_read: z.number() }).optional(),
  }),
  steps: z.array(z.object({ step: z.string(), ms: z.number() })),
  duration_ms: z.number(),
  /** With --wait: the guest's addresses (VM_guest_metrics.networks), time from VM.start's end to ready, and the probes that held. */
  ips: z.array(z.string()).optional(),
  ready_after_ms: z.number().optional(),
  ready_probes: z.array(z.string()).optional(),
  preflight: PreflightSummary.optional(),
  host: HostReportOut.optional(),
  /** --replace: what was destroyed first (the old VM and the disks the tool made for it). */
  replaced: z.array(z.string()).optional(),
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
  preflight: PreflightSummary.optional(),
  host: HostReportOut.optional(),
})
export type DryRunResult = z.infer<typeof DryRunResult>
