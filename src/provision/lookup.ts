import type { XapiConnection } from '../xapi/connection.js'
import * as SR from '../xapi/sr.js'
import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import * as network from '../xapi/network.js'
import { UserError } from '../errors.js'
import { chooseSrByHost } from './choose-sr.js'
import type { Recipe } from '../recipe/schema.js'
import { deriveMac } from '../recipe/mac.js'
import type { SrRecord, NetworkRecord } from '../xapi/records.js'

export interface Targets {
  sr: { ref: string; record: SrRecord }
  template: string
  /** The template's VM.platform, which the VM inherits and the boot step merges into (dry-run display). */
  templatePlatform?: Record<string, string>
  network: { ref: string; record: NetworkRecord }
  mac: string
}

/**
 * The read-only lookups every run makes before it changes anything (also for --dry-run):
 * exactly one SR, exactly one template, the network by bridge, a free VM name and a
 * free MAC. Any problem here stops the run with nothing created.
 */
export async function lookupTargets(x: XapiConnection, recipe: Recipe, vmName: string, vdiSize: number, ignoreVms: ReadonlySet<string> = new Set()): Promise<Targets> {
  const sr = await findSr(x, recipe)
  const free = sr.record.physical_size - sr.record.virtual_allocation
  if (vdiSize > free) {
    throw new UserError({
      code: 'no-space',
      what: `SR "${sr.record.name_label}" has no room for the disk`,
      why: `the VDI needs ${vdiSize} bytes and the SR has ${free} of ${sr.record.physical_size} free`,
      fix: 'free space on the SR, pick another SR in the recipe (sr.name_label or sr.uuid), or shrink vdi.virtual_size',
    })
  }
  const { template, templatePlatform } = await findTemplate(x, recipe.template)
  const net = await findNetwork(x, recipe.network.bridge)
  // A VM being replaced (provision --replace --dry-run) is about to go: its name and MAC are free.
  const existing = await findVms(x, vmName, ignoreVms)
  if (existing.length) {
    throw new UserError({
      code: 'name-taken',
      what: `A VM named "${vmName}" already exists`,
      why: `VM ${existing.join(', ')} has that name-label; a second one would make the name ambiguous`,
      fix: 'pass --name with another name, or remove the existing VM first',
    })
  }
  const mac = recipe.network.mac === 'derived' ? deriveMac(vmName) : recipe.network.mac
  // VIFs of an interrupted run's VM (about to be removed) do not count as taken.
  const owner = Object.values(await VIF.get_all_records(x)).find((v) => !ignoreVms.has(v.VM) && v.MAC.toLowerCase() === mac.toLowerCase())
  if (owner) {
    throw new UserError({
      code: 'mac-taken',
      what: `MAC ${mac} is already in use`,
      why: `VIF ${owner.uuid} of VM ${owner.VM} has it; two VIFs with one MAC break the network`,
      fix: recipe.network.mac === 'derived' ? 'pass --name with another VM name (the MAC is derived from it)' : 'set another network.mac in the recipe, or "derived"',
    })
  }
  return { sr, template, templatePlatform, network: net, mac }
}

async function findSr(x: XapiConnection, recipe: Recipe): Promise<Targets['sr']> {
  if (recipe.sr.uuid) {
    const ref = await SR.get_by_uuid(x, recipe.sr.uuid)
    return { ref, record: await SR.get_record(x, ref) }
  }
  const refs = await SR.get_by_name_label(x, recipe.sr.name_label)
  if (refs.length === 1) return { ref: refs[0]!, record: await SR.get_record(x, refs[0]!) }
  if (refs.length === 0) {
    throw new UserError({
      code: 'not-found',
      what: `No SR named "${recipe.sr.name_label}"`,
      why: 'SR.get_by_name_label found nothing (names are exact and case-sensitive)',
      fix: 'set sr.name_label in the recipe to an existing SR (xe sr-list params=name-label) or give sr.uuid',
    })
  }
  return chooseSrByHost(x, refs, recipe.sr.name_label, recipe.sr.host)
}

async function findTemplate(x: XapiConnection, name: string): Promise<{ template: string; templatePlatform: Record<string, string> }> {
  const refs = await VM.get_by_name_label(x, name)
  const records = await Promise.all(refs.map(async (r) => [r, await VM.get_record(x, r)] as const))
  const templates = records.filter(([, v]) => v.is_a_template && !v.is_a_snapshot && !v.is_control_domain)
  if (templates.length === 1) return { template: templates[0]![0], templatePlatform: templates[0]![1].platform }
  throw new UserError({
    code: templates.length ? 'ambiguous' : 'not-found',
    what: templates.length ? `${templates.length} templates are named "${name}"` : `No template named "${name}"`,
    why: templates.length ? `candidates: ${templates.map(([, v]) => v.uuid).join(', ')}` : 'VM.get_by_name_label found no template with that exact name-label',
    fix: templates.length ? 'rename the extra templates' : 'set template in the recipe to an existing template (xe template-list params=name-label)',
  })
}

async function findNetwork(x: XapiConnection, bridge: string): Promise<Targets['network']> {
  const all = Object.entries(await network.get_all_records(x))
  const hit = all.find(([, n]) => n.bridge === bridge)
  if (hit) return { ref: hit[0], record: hit[1] }
  throw new UserError({
    code: 'not-found',
    what: `No network on bridge ${bridge}`,
    why: `bridges here: ${all.map(([, n]) => n.bridge).join(', ') || 'none'}`,
    fix: 'set network.bridge in the recipe to one of those',
  })
}

async function findVms(x: XapiConnection, name: string, ignore: ReadonlySet<string>): Promise<string[]> {
  const refs = (await VM.get_by_name_label(x, name)).filter((r) => !ignore.has(r))
  const recs = await Promise.all(refs.map((r) => VM.get_record(x, r)))
  return recs.filter((v) => !v.is_a_template && !v.is_a_snapshot).map((v) => v.uuid)
}
