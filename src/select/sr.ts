import type { HostRecord, PbdRecord, SrRecord } from '../xapi/records.js'
import { chosen, refused, type Choice, type Picked, type Refusal, type Source } from './choice.js'

/** How a recipe or fleet file names its SR: by uuid, else by name-label, with an optional host to break ties. */
export interface SrSelector {
  uuid?: string | undefined
  name_label: string
  host?: string | undefined
}

/** The records the rules read: a pool's SRs (or just the named ones), its PBDs and hosts. */
export interface SrRecords {
  srs: Record<string, SrRecord>
  pbds: Record<string, PbdRecord>
  hosts: Record<string, Pick<HostRecord, 'name_label'>>
}

export interface HostRef {
  ref: string
  name: string
}

type Sr = [ref: string, record: SrRecord]

const FIX: Record<Source, { missing: string; ambiguous: string }> = {
  recipe: {
    missing: 'set sr.name_label in the recipe to an existing SR (xe sr-list params=name-label) or give sr.uuid',
    ambiguous: 'add sr.host (the host name-label whose SR to use) or sr.uuid to the recipe',
  },
  fleet: {
    missing: 'set sr in the fleet file (defaults or overrides) or the recipe to an SR this host can reach',
    ambiguous: 'give sr: {uuid: …} in the fleet file with one of the uuids above',
  },
}

const named = (r: SrRecords, sel: SrSelector): Sr[] => Object.entries(r.srs).filter(([, s]) => (sel.uuid ? s.uuid === sel.uuid : s.name_label === sel.name_label))

/** A host reaches an SR through a PBD of that SR on that host which is plugged (currently_attached). */
const reaches = (r: SrRecords, srRef: string, hostRef: string | undefined): boolean => Object.values(r.pbds).some((p) => p.SR === srRef && p.host === hostRef && p.currently_attached)

/**
 * Among the SRs a host reaches, the one to use: the only one, or else the only local one.
 * "Local storage" exists once per host, and xapi's own default for a host's disks is its
 * local SR, so a local SR of that host wins over a shared one of the same name.
 */
function pickReachable(r: SrRecords, candidates: Sr[], hostRef: string | undefined): { pick: Sr | undefined; here: Sr[] } {
  const here = candidates.filter(([ref]) => reaches(r, ref, hostRef))
  const local = here.filter(([, s]) => !s.shared)
  const pick = here.length === 1 ? here[0] : local.length === 1 ? local[0] : undefined
  return { pick, here }
}

const hostsOf = (r: SrRecords, srRef: string): string[] =>
  Object.values(r.pbds)
    .filter((p) => p.SR === srRef)
    .map((p) => r.hosts[p.host]?.name_label ?? p.host)

const describe = (r: SrRecords, [ref, s]: Sr): string => `${s.uuid} (${s.type}${s.shared ? ', shared' : ''}, on ${hostsOf(r, ref).join(', ') || 'no host'})`

const label = (sel: SrSelector): string => (sel.uuid ? `SR ${sel.uuid}` : `SR "${sel.name_label}"`)

const ambiguous = (r: SrRecords, sel: SrSelector, list: Sr[], source: Source, where: string, note = ''): Refusal => ({
  code: 'ambiguous',
  what: `${list.length} SRs are named "${sel.name_label}"${where}`,
  why: `${note}candidates: ${list.map((s) => describe(r, s)).join('; ')}`,
  fix: FIX[source].ambiguous,
})

/**
 * The SR for a VM whose host is fixed (the fleet places VMs on hosts first): one that
 * matches the selector and that host reaches.
 */
export function srOnHost(r: SrRecords, sel: SrSelector, host: HostRef, source: Source): Choice<Picked<SrRecord>> {
  const all = named(r, sel)
  const { pick, here } = pickReachable(r, all, host.ref)
  if (pick) return chosen({ ref: pick[0], record: pick[1] })
  if (here.length === 0) {
    return refused({
      code: 'not-found',
      what: `No ${label(sel)} on host ${host.name}`,
      why: all.length ? `it exists but is not plugged into ${host.name}` : 'no SR has that name-label (names are exact and case-sensitive)',
      fix: FIX[source].missing,
    })
  }
  return refused(ambiguous(r, sel, here, source, ` on host ${host.name}`))
}

/**
 * The SR for a VM whose host is not fixed (provision: xapi starts the VM where its disk
 * is): the only one with that name, or, when several share it, the one the wanted host
 * reaches — `sel.host`, else the pool master, where xapi places a VM with no affinity.
 */
export function srByName(r: SrRecords, sel: SrSelector, master: string | undefined, source: Source): Choice<Picked<SrRecord>> {
  const all = named(r, sel)
  if (all.length === 1) return chosen({ ref: all[0]![0], record: all[0]![1] })
  if (all.length === 0) {
    return refused({
      code: 'not-found',
      what: `No ${label(sel)}`,
      why: 'no SR has that name-label (names are exact and case-sensitive)',
      fix: FIX[source].missing,
    })
  }
  const target = sel.host !== undefined ? Object.entries(r.hosts).find(([, h]) => h.name_label === sel.host)?.[0] : master
  const { pick } = pickReachable(r, all, target)
  if (pick) return chosen({ ref: pick[0], record: pick[1] })
  const unknown = sel.host !== undefined && target === undefined ? `no host is named "${sel.host}"; ` : ''
  return refused(ambiguous(r, sel, all, source, '', unknown))
}

/** Room on the SR for a disk of `bytes` (virtual_allocation counts what its VDIs may grow to). */
export function roomFor(sr: Picked<SrRecord>, bytes: number, source: Source): Choice<Picked<SrRecord>> {
  const s = sr.record
  const free = s.physical_size - s.virtual_allocation
  if (bytes <= free) return chosen(sr)
  return refused({
    code: 'no-space',
    what: `SR "${s.name_label}" has no room for the disk`,
    why: `the VDI needs ${bytes} bytes and the SR has ${free} of ${s.physical_size} free`,
    fix: `free space on the SR, pick another SR in the ${source === 'recipe' ? 'recipe' : 'fleet file'} (sr.name_label or sr.uuid), or shrink vdi.virtual_size`,
  })
}
