import type { XapiConnection } from '../xapi/connection.js'
import * as host from '../xapi/host.js'
import * as pool from '../xapi/pool.js'
import * as PBD from '../xapi/pbd.js'
import { UserError, EXIT } from '../errors.js'
import { hasCode } from '../xapi/errors.js'
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

/**
 * Read-only: the pool, PBD and certificate records once, and each host's record the first
 * time a report needs it. A provision checks the master before its claim and the SR's
 * hosts once it knows the SR: the second report reads only hosts the first did not.
 */
export async function readHosts(x: XapiConnection): Promise<HostReporter> {
  const [pools, pbds] = await Promise.all([pool.get_all_records(x), PBD.get_all_records(x)])
  const [poolRef, poolRec] = Object.entries(pools)[0] ?? []
  if (!poolRef || !poolRec) throw new Error('internal: the pool has no pool object')
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
      s = host.get_record(x, ref).then((h) => ({
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
  return async (on) => {
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
    const [m, ...vmHosts] = await Promise.all([summary(poolRec.master), ...vmHostRefs.map(summary)])
    return { master: m!, vm_hosts: vmHosts.length ? vmHosts : [m!] }
  }
}

/** `on` an SR: the hosts that see it; `{ hosts }`: those hosts (a fleet places VMs on any host of a pool); none: the master alone. */
export async function readHostReport(x: XapiConnection, on?: string | { hosts: string[] }): Promise<HostReport> {
  return (await readHosts(x))(on)
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
