import { z } from 'zod'

/**
 * The parts of XAPI records the orchestrator reads, validated at the boundary so a
 * surprising server answer fails with a clear message instead of deep in a step.
 * XAPI sends int64 as strings over XML-RPC, so ints are coerced.
 */
const int = z.coerce.number().int()
const ref = z.string().startsWith('OpaqueRef:')
const stringMap = z.record(z.string(), z.string())

export const SrRecord = z.looseObject({
  uuid: z.string(),
  name_label: z.string(),
  type: z.string(),
  shared: z.boolean(),
  physical_size: int,
  virtual_allocation: int,
  PBDs: z.array(ref),
})
export type SrRecord = z.infer<typeof SrRecord>

export const PbdRecord = z.looseObject({ host: ref, SR: ref, currently_attached: z.boolean() })
export type PbdRecord = z.infer<typeof PbdRecord>

export const NetworkRecord = z.looseObject({
  uuid: z.string(),
  name_label: z.string(),
  bridge: z.string(),
  MTU: int,
})
export type NetworkRecord = z.infer<typeof NetworkRecord>

export const VifRecord = z.looseObject({ uuid: z.string(), VM: ref, MAC: z.string(), device: z.string(), network: ref })
export type VifRecord = z.infer<typeof VifRecord>

export const VdiRecord = z.looseObject({
  uuid: z.string(),
  name_label: z.string(),
  virtual_size: int,
  type: z.string(),
  SR: ref,
  other_config: stringMap,
})
export type VdiRecord = z.infer<typeof VdiRecord>

export const VmRecord = z.looseObject({
  uuid: z.string(),
  name_label: z.string(),
  power_state: z.enum(['Halted', 'Paused', 'Running', 'Suspended']),
  is_a_template: z.boolean(),
  is_control_domain: z.boolean(),
  is_a_snapshot: z.boolean(),
  other_config: stringMap,
  HVM_boot_params: stringMap,
  platform: stringMap,
  VBDs: z.array(ref),
  VIFs: z.array(ref),
})
export type VmRecord = z.infer<typeof VmRecord>

export const HostRecord = z.looseObject({ uuid: z.string(), name_label: z.string(), address: z.string(), enabled: z.boolean() })
export type HostRecord = z.infer<typeof HostRecord>

/** The VM fields a fleet rollout compares with its plan (drift) and places by. */
export const VmDetailRecord = VmRecord.extend({
  memory_static_min: int,
  memory_static_max: int,
  memory_dynamic_min: int,
  memory_dynamic_max: int,
  VCPUs_max: int,
  VCPUs_at_startup: int,
  PV_args: z.string(),
  /** With HVM_boot_params' firmware and domain_type, how it boots (fleet drift). */
  HVM_boot_policy: z.string(),
  /** pv, hvm, pvh; absent before API 2.10 (kolkata). */
  domain_type: z.string().optional(),
  resident_on: ref,
  affinity: ref,
})
export type VmDetailRecord = z.infer<typeof VmDetailRecord>

/** A VDI as a fleet rollout looks for its base image: snapshots and unmanaged VDIs never qualify. */
export const VdiDetailRecord = VdiRecord.extend({ is_a_snapshot: z.boolean(), managed: z.boolean(), VBDs: z.array(ref) })
export type VdiDetailRecord = z.infer<typeof VdiDetailRecord>

/** get_all_records answers: ref -> record. */
export const TaskRecord = z.looseObject({ uuid: z.string(), name_label: z.string(), name_description: z.string(), status: z.string() })
export type TaskRecord = z.infer<typeof TaskRecord>

export const recordsOf = <T extends z.ZodType>(schema: T) => z.record(z.string(), schema)

/** What a host says about its release and its hypervisor (src/provision/capabilities.ts). */
export const HostVersionRecord = HostRecord.extend({
  software_version: stringMap,
  API_version_major: int,
  API_version_minor: int,
  /** Xen's XENVER_capabilities, split: xen-3.0-x86_64 (64-bit PV), xen-3.0-x86_32p (32-bit PV), hvm-3.0-* */
  capabilities: z.array(z.string()),
})
export type HostVersionRecord = z.infer<typeof HostVersionRecord>
