import { UserError } from '../errors.js'
import type { DataMap } from '../upload/find/data-map.js'
import type { NetworkRecord, SrRecord, VmDetailRecord } from '../xapi/records.js'
import { fleetVms, findBase, findPartialBase, findTemplate, type PoolInventory } from './inventory.js'
import { poolHosts, type Host } from './placement.js'
import { orThrow } from '../select/choice.js'
import { srOnHost } from '../select/sr.js'
import { networkByBridge } from '../select/network.js'
import { templateByName } from '../select/template.js'
import { MacRegistry } from '../select/mac.js'
import { driftOf, NEEDS_REPLACE } from './drift.js'
import { isDisruptive, SETTINGS_KEY, settingsRecord, wantedSettings } from '../provision/settings.js'
import { destroyPlanOf, type DestroyPlan } from '../provision/destroy.js'
import { fleetLeftovers } from './leftovers.js'
import { isEmpty, poolLeftovers } from './pool-leftovers.js'
import type { Leftovers } from '../provision/leftovers.js'
import { templateName, templateSha256 } from './golden-key.js'
import type { VmSpec } from './spec.js'
import type { Drift, ErrorInfo, VmAction } from './types.js'

export interface ImageInfo {
  map: DataMap
  sha256: string
}

export interface BasePlan {
  key: string
  pool: string
  sr: { ref: string; record: SrRecord }
  image: string
  info: ImageInfo
  size: number
  type: 'system' | 'user'
  /** A base VDI with this image already on the SR; its other_config is what each clone starts from. */
  existing: { ref: string; uuid: string; other_config: Record<string, string> } | undefined
  /** Else one whose upload an interrupted rollout left unfinished: uploaded into, resuming. */
  partial?: { ref: string; uuid: string } | undefined
}

export interface TemplatePlan {
  key: string
  pool: string
  spec: VmSpec
  sha256: string
  name: string
  /** The recipe's install template ("Other install media"), cloned to build the golden one. */
  source: string
  existing: { ref: string; uuid: string } | undefined
  /** The settings record the template carries (provision's vm.other-config step writes it): each clone inherits it. */
  settings: string | undefined
}

export interface VmPlan {
  spec: VmSpec
  pool: string
  host: Host | undefined
  action: VmAction
  /** Every difference from the file, the file's changes and the pool's drift. */
  drift: Drift[]
  /** The differences this run applies: the file's changes, and with --reconcile the drift too. */
  changes: Drift[]
  /** Applying the action halts, reboots or replaces the VM: it needs consent. */
  disruptive: boolean
  /** Set for `replace`: the VM and the disks the tool made for it, destroyed before the VM is made anew. */
  replacing?: DestroyPlan
  error: ErrorInfo | undefined
  existing: { ref: string; record: VmDetailRecord } | undefined
  /** Set for `create`. */
  sr?: { ref: string; record: SrRecord }
  network?: { ref: string; record: NetworkRecord }
  mac?: string
  base?: BasePlan
  template?: TemplatePlan
  /** What an interrupted rollout left of this VM, by pool: removed before it is created. */
  leftovers: { pool: string; found: Leftovers }[]
  /** Disks of this fleet VM attached to nothing that are not proven leftovers: reported, never removed. */
  leftInPlace: string[]
  /** Its static address from the group's address pool (addresses.ts), recorded on the VM. */
  address?: string
  /** The wave that makes or changes it, from 1 (waves.ts); unset when the run does nothing to it. */
  wave?: number
}

export interface Plan {
  vms: VmPlan[]
  bases: BasePlan[]
  templates: TemplatePlan[]
  extras: { name: string; pool: string; uuid: string }[]
  /** Per pool, what interrupted rollouts left that belongs to no one VM (pool-leftovers.ts): removed first. */
  poolLeftovers: { pool: string; found: Leftovers }[]
}

export interface PlanInput {
  fleet: string
  specs: VmSpec[]
  /** Inventories of the pools that answered; a missing one carries the login error. */
  pools: Map<string, { inv: PoolInventory } | { error: ErrorInfo }>
  images: Map<string, ImageInfo>
  reconcile: boolean
  /** Replace VMs whose changes cannot be made in place (a boot mode); without it they fail. */
  replace?: boolean
}

const info = (e: unknown): ErrorInfo => {
  if (e instanceof UserError) return { code: e.code, what: e.info.what, why: e.info.why, fix: e.info.fix, removed: [], kept: [] }
  return { what: 'Planning failed', why: e instanceof Error ? e.message : String(e), fix: 'report this with the fleet file', removed: [], kept: [] }
}

/** Turns the fleet into one plan per VM against what the pools hold now. Reads only. */
export function plan(input: PlanInput): Plan {
  const invs = [...input.pools].flatMap(([name, p]) => ('inv' in p ? [[name, p.inv] as [string, PoolInventory]] : []))
  const tagged = new Map(invs.map(([name, inv]) => [name, fleetVms(inv, input.fleet)]))
  const perVm = new Map(input.specs.map((s) => [s.name, invs.map(([pool, inv]) => ({ pool, ...fleetLeftovers(inv, input.fleet, s.name) }))]))
  const leftovers = new Map([...perVm].map(([name, ls]) => [name, ls.filter((l) => !isEmpty(l.found)).map(({ pool, found }) => ({ pool, found }))]))
  const templateNames = new Set(input.specs.map((s) => templateName(input.fleet, s.groupRecipe, templateSha256(input.fleet, s.groupRecipe))))
  const poolLeft = invs.map(([pool, inv]) => ({ pool, found: poolLeftovers(inv, templateNames) })).filter((l) => !isEmpty(l.found))
  const bases = new Map<string, BasePlan>()
  const templates = new Map<string, TemplatePlan>()
  const perGroup = new Map<number, number>()
  const vms: VmPlan[] = input.specs.map((spec) => {
    const index = perGroup.get(spec.group) ?? 0
    perGroup.set(spec.group, index + 1)
    let pool = spec.pools[index % spec.pools.length]!
    const vm: VmPlan = {
      spec,
      pool,
      host: undefined,
      action: 'fail',
      drift: [],
      changes: [],
      disruptive: false,
      error: undefined,
      existing: undefined,
      leftovers: leftovers.get(spec.name) ?? [],
      leftInPlace: perVm.get(spec.name)!.flatMap((l) => l.leftInPlace),
    }
    try {
      const found = invs.flatMap(([name]) => (tagged.get(name)?.get(spec.name) ?? []).map((hit) => [name, hit] as const))
      if (found.length > 1) {
        throw new UserError({
          what: `${found.length} VMs carry the tag of ${spec.name}`,
          why: `uuids: ${found.map(([p, [, r]]) => `${r.uuid} (pool ${p})`).join(', ')}`,
          fix: 'remove or untag the extra copies (other_config xcp-provision:vm), then run again',
        })
      }
      if (found.length === 1) {
        const ex = existingPlan(vm, found[0]![0], found[0]![1], invs, input)
        if (ex.action !== 'replace') return ex
        // Replaced: made anew in the pool it is in, as a missing VM would be (below).
        Object.assign(vm, ex)
        pool = ex.pool
      }
      const p = input.pools.get(pool)
      if (!p || 'error' in p) throw new UserError(p ? p.error : { what: `Pool ${pool} is unknown`, why: '', fix: '' })
      const inv = p.inv
      const hosts = poolHosts(inv, pool, spec.hosts)
      vm.host = hosts[Math.floor(index / spec.pools.length) % hosts.length]!
      const clash = Object.entries(inv.vms).find(([ref, v]) => v.name_label === spec.name && !v.is_a_template && !v.is_a_snapshot && ref !== vm.replacing?.vm.ref)?.[1]
      if (clash) {
        throw new UserError({
          what: `A VM named "${spec.name}" already exists in pool ${pool} outside the fleet`,
          why: `VM ${clash.uuid} has that name-label but not this fleet's tag`,
          fix: 'rename or remove that VM, or rename this one in the fleet file',
        })
      }
      vm.sr = orThrow(srOnHost(inv, spec.recipe.sr, vm.host, 'fleet'))
      vm.network = orThrow(networkByBridge(inv.networks, spec.recipe.network.bridge, 'fleet'))
      const image = input.images.get(spec.image)!
      const { virtual_size: size, type } = spec.recipe.vdi
      const baseKey = [pool, vm.sr.ref, image.sha256, size, type].join('\n')
      vm.base = bases.get(baseKey) ?? {
        key: baseKey,
        pool,
        sr: vm.sr,
        image: spec.image,
        info: image,
        size,
        type,
        existing: findBase(inv, vm.sr.ref, image.sha256, size, type),
        partial: findPartialBase(inv, vm.sr.ref, image.sha256, size, type),
      }
      bases.set(baseKey, vm.base)
      const sha = templateSha256(input.fleet, spec.groupRecipe)
      const tKey = `${pool}\n${sha}`
      const tName = templateName(input.fleet, spec.groupRecipe, sha)
      vm.template = templates.get(tKey) ?? {
        key: tKey,
        pool,
        spec,
        sha256: sha,
        name: tName,
        source: orThrow(templateByName(inv.vms, spec.groupRecipe.template)).ref,
        existing: findTemplate(inv, input.fleet, sha),
        settings: undefined,
      }
      const t = vm.template
      t.settings ??= t.existing ? inv.vms[t.existing.ref]?.other_config[SETTINGS_KEY] : settingsRecord(wantedSettings(t.spec.groupRecipe))
      templates.set(tKey, vm.template)
      vm.action = vm.replacing ? 'replace' : 'create'
    } catch (e) {
      vm.action = 'fail'
      vm.disruptive = false
      vm.error = info(e)
    }
    return vm
  })
  // VIFs of leftovers (about to be removed) and of replaced VMs (destroyed first) do not hold their MACs.
  const freed = [...[...leftovers.values()].flatMap((ls) => ls.flatMap((l) => l.found.vms.map((v) => v.ref))), ...vms.flatMap((v) => (v.replacing ? [v.replacing.vm.ref] : []))]
  const macs = new MacRegistry(
    invs.map(([pool, inv]) => ({ pool, vifs: inv.vifs, vms: inv.vms })),
    new Set(freed),
  )
  // Explicit MACs first, so a derived one never takes a MAC the fleet file asks for.
  const makes = (a: VmAction): boolean => a === 'create' || a === 'replace'
  const creating = vms.filter((v) => makes(v.action))
  for (const v of creating) {
    if (v.spec.recipe.network.mac === 'derived') continue
    try {
      v.mac = orThrow(macs.claimExplicit(v.spec.recipe.network.mac, v.spec.name, 'fleet'))
    } catch (e) {
      Object.assign(v, { action: 'fail', disruptive: false, error: info(e) })
    }
  }
  for (const v of creating) if (makes(v.action) && !v.mac) v.mac = orThrow(macs.claimDerived(v.spec.name, true, 'fleet'))
  // Applying a MAC means a new VIF with it: it must be free too.
  for (const v of vms.filter((x) => (x.action === 'reconcile' || x.action === 'update') && x.changes.some((d) => d.field === 'MAC'))) {
    try {
      v.mac = orThrow(macs.claimExplicit(v.spec.recipe.network.mac, v.spec.name, 'fleet'))
    } catch (e) {
      Object.assign(v, { action: 'fail', disruptive: false, error: info(e) })
    }
  }
  const named = new Set(input.specs.map((s) => s.name))
  const extras = invs.flatMap(([pool]) => [...(tagged.get(pool) ?? [])].filter(([name]) => !named.has(name)).flatMap(([name, hits]) => hits.map(([, r]) => ({ name, pool, uuid: r.uuid }))))
  const used = (key: string, kind: 'base' | 'template'): boolean => vms.some((v) => makes(v.action) && v[kind]?.key === key)
  return { vms, bases: [...bases.values()].filter((b) => used(b.key, 'base')), templates: [...templates.values()].filter((t) => used(t.key, 'template')), extras, poolLeftovers: poolLeft }
}

/**
 * A VM the fleet already has: compared with the file (provision's comparison). The file's
 * changes are applied; drift only with --reconcile. A change no in-place call can make (the
 * boot mode) replaces the VM with --replace and fails it otherwise, changing nothing.
 */
function existingPlan(vm: VmPlan, pool: string, [ref, record]: [string, VmDetailRecord], invs: [string, PoolInventory][], input: PlanInput): VmPlan {
  const inv = invs.find(([n]) => n === pool)![1]
  const hostRef = record.resident_on !== 'OpaqueRef:NULL' ? record.resident_on : record.affinity
  const host = inv.hosts[hostRef]
  const vifs = record.VIFs.map((r) => inv.vifs[r]).filter((v) => v !== undefined)
  const drift = driftOf(record, vifs, vm.spec.recipe)
  const changes = drift.filter((d) => d.kind === 'change' || input.reconcile)
  const vif = vifs.find((v) => v.device === vm.spec.recipe.network.device)
  const base: VmPlan = { ...vm, pool, host: host ? { ref: hostRef, name: host.name_label } : undefined, existing: { ref, record }, drift, changes, ...(vif ? { mac: vif.MAC.toLowerCase() } : {}) }
  const stuck = changes.find((d) => NEEDS_REPLACE.has(d.field))
  if (stuck) {
    if (input.replace) {
      const disks = Object.entries(inv.vdis).filter(([, d]) => d.VBDs.some((b) => record.VBDs.includes(b)))
      return { ...base, action: 'replace', disruptive: true, replacing: destroyPlanOf(ref, record, disks) }
    }
    const b = stuck
    const error: ErrorInfo = {
      what: `${vm.spec.name} boots as ${b.have}, the fleet asks for ${b.want}: a boot mode does not change in place`,
      why: `its disk was made from an image for ${b.have}; switching the mode in place would leave a VM that does not boot`,
      fix: `run again with --replace to destroy ${vm.spec.name} and its disk and make it anew from the group's image (its data is lost)${b.have === 'pv' && b.want.startsWith('hvm') ? `, or run provision convert ${vm.spec.name} (it writes the boot blocks HVM needs)` : ''}; nothing was changed`,
      removed: [],
      kept: [],
    }
    return { ...base, action: 'fail', error }
  }
  if (!changes.length) return { ...base, action: drift.length ? 'drift' : 'none' }
  return { ...base, action: changes.some((d) => d.kind === 'change') ? 'update' : 'reconcile', disruptive: isDisruptive(changes, record.power_state) }
}
