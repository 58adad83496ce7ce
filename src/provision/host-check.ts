import type { XapiConnection } from '../xapi/connection.js'
import * as host from '../xapi/host.js'
import * as pool from '../xapi/pool.js'
import * as PBD from '../xapi/pbd.js'
import { UserError, EXIT } from '../errors.js'
import { hasCode } from '../xapi/errors.js'
import { parseAnswer } from '../xapi/parse.js'
import { HostVersionRecord, type HostRecord, type PbdRecord } from '../xapi/records.js'
import type { Recipe } from '../recipe/schema.js'
import { capabilitiesOf, releaseName, type Capabilities } from './capabilities.js'
import { checkRunnable } from './runnable.js'

export interface HostSummary {
  name: string
  release: string
  api_version: string
  software_version: Record<string, string>
  capabilities: Capabilities
}

/** The master (where the API answers) and the hosts the VM can run on (those that see its SR). */
export interface HostReport {
  master: HostSummary
  vm_hosts: HostSummary[]
}

/** Reports on what readHosts() read: `on` as readHostReport's. */
export type HostReporter = (on?: string | { hosts: string[] }) => Promise<HostReport>

/** Records the caller read already: the fleet's inventory holds every PBD and host. */
export interface HostRecords {
  pbds?: Record<string, PbdRecord>
  hosts?: Record<string, HostRecord>
}

/**
 * Read-only: the PBD and certificate records once, and each host's record the first time
 * a report needs it, unless `read` holds it. The pool (its ref and master) is the one
 * the login read (connection.ts). A provision checks the master before its claim and the
 * SR's hosts once it knows the SR: the second report reads only hosts the first did not.
 */
export async function readHosts(x: XapiConnection, read: HostRecords = {}): Promise<HostReporter> {
  const { ref: poolRef, master } = x.pool
  const pbds = read.pbds ?? (await PBD.get_all_records(x))
  // helpers.ml get_active_uefi_certificates; hosts older than API 2.14 have neither field.
  const absent = (e: unknown): string => {
    if (hasCode(e, 'MESSAGE_METHOD_UNKNOWN')) return ''
    throw e
  }
  const certs = (await Promise.all([pool.get_uefi_certificates(x, poolRef).catch(absent), pool.get_custom_uefi_certificates(x, poolRef).catch(absent)])).some((c) => c !== '')
  const summaries = new Map<string, Promise<HostSummary>>()
  const summary = (ref: string): Promise<HostSummary> => {
    let s = summaries.get(ref)
    if (!s) {
      const known = read.hosts?.[ref]
      s = (known ? Promise.resolve(parseAnswer(HostVersionRecord, known, 'host.get_all_records')) : host.get_record(x, ref)).then((h) => ({
        name: h.name_label,
        release: releaseName(h.software_version),
        api_version: `${h.API_version_major}.${h.API_version_minor}`,
        software_version: h.software_version,
        capabilities: capabilitiesOf({ host: h, poolHasUefiCertificates: certs }),
      }))
      summaries.set(ref, s)
    }
    return s
  }
  const report: HostReporter = async (on) => {
    const vmHostRefs =
      on === undefined
        ? []
        : typeof on === 'string'
          ? [
              ...new Set(
                Object.values(pbds)
                  .filter((p) => p.SR === on && p.currently_attached)
                  .map((p) => p.host),
              ),
            ]
          : on.hosts
    const [m, ...vmHosts] = await Promise.all([summary(master), ...vmHostRefs.map(summary)])
    return { master: m!, vm_hosts: vmHosts.length ? vmHosts : [m!] }
  }
  return report
}

/** `on` an SR: the hosts that see it; `{ hosts }`: those hosts (a fleet places VMs on any host of a pool); none: the master alone. */
export async function readHostReport(x: XapiConnection, on?: string | { hosts: string[] }, read: HostRecords = {}): Promise<HostReport> {
  return (await readHosts(x, read))(on)
}

/**
 * Stops a recipe the VM's hosts cannot run, before any change (exit 1, nothing created);
 * returns the warnings for what runs with a caveat.
 */
export function assertRunnable(recipe: Recipe, report: HostReport, kernelBits: 32 | 64 | null): string[] {
  const warnings = new Set<string>()
  for (const h of report.vm_hosts) {
    const { refusal, warnings: w } = checkRunnable(recipe, h.capabilities, h.release, kernelBits)
    if (refusal) throw new UserError({ ...refusal, what: `${refusal.what} (host ${h.name})`, code: 'host-unsupported', exitCode: EXIT.failure })
    for (const m of w) warnings.add(m)
  }
  return [...warnings]
}
