import type { XapiConnection } from '../xapi/connection.js'
import * as SR from '../xapi/sr.js'
import * as VM from '../xapi/vm.js'
import * as VIF from '../xapi/vif.js'
import * as PBD from '../xapi/pbd.js'
import * as host from '../xapi/host.js'
import * as network from '../xapi/network.js'
import { UserError } from '../errors.js'
import type { Recipe } from '../recipe/schema.js'
import type { SrRecord, NetworkRecord } from '../xapi/records.js'
import { orThrow } from '../select/choice.js'
import { roomFor, srByName } from '../select/sr.js'
import { templateByName } from '../select/template.js'
import { networkByBridge } from '../select/network.js'
import { MacRegistry } from '../select/mac.js'
import type { NamedVm } from './destroy.js'

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
 * exactly one SR with room, exactly one template, the network by bridge, a free VM name
 * and a free MAC. The records are read here; the rules that choose are src/select's,
 * the same the fleet's planner uses. Any problem here stops the run with nothing created.
 */
export async function lookupTargets(x: XapiConnection, recipe: Recipe, vmName: string, vdiSize: number, read: { named: readonly NamedVm[]; ignoreVms?: ReadonlySet<string> }): Promise<Targets> {
  const ignoreVms = read.ignoreVms ?? new Set<string>()
  const sr = orThrow(roomFor(await findSr(x, recipe), vdiSize, 'recipe'))
  const refs = await VM.get_by_name_label(x, recipe.template)
  const named = Object.fromEntries(await Promise.all(refs.map(async (r) => [r, await VM.get_record(x, r)] as const)))
  const template = orThrow(templateByName(named, recipe.template))
  const net = orThrow(networkByBridge(await network.get_all_records(x), recipe.network.bridge, 'recipe'))
  // The VMs of this name the run read once for handleExisting (run.ts): the name is free when
  // there are none. A VM being replaced (provision --replace) is gone, or about to go on
  // --dry-run: its name and MAC are free. The name is claimed by VM.set_name_label in
  // vm.finish; until then the VM carries its building name, and the claim (claim.ts) keeps
  // out another run of this name, so a second read here would not guard anything more.
  const existing = read.named.filter((v) => !ignoreVms.has(v.ref)).map((v) => v.record.uuid)
  if (existing.length) {
    throw new UserError({
      code: 'name-taken',
      what: `A VM named "${vmName}" already exists`,
      why: `VM ${existing.join(', ')} has that name-label; a second one would make the name ambiguous`,
      fix: 'pass --name with another name, or remove the existing VM first',
    })
  }
  // VIFs of an interrupted run's VM (about to be removed) do not count as taken.
  const macs = new MacRegistry([{ vifs: await VIF.get_all_records(x) }], ignoreVms)
  const wanted = recipe.network.mac
  const mac = orThrow(wanted === 'derived' ? macs.claimDerived(vmName, false, 'recipe') : macs.claimExplicit(wanted, undefined, 'recipe'))
  return { sr, template: template.ref, templatePlatform: template.record.platform, network: net, mac }
}

/** By uuid one call; by name the named SRs, and only when several share the name the PBDs and hosts that, with the master, break the tie. */
async function findSr(x: XapiConnection, recipe: Recipe): Promise<Targets['sr']> {
  if (recipe.sr.uuid) {
    const ref = await SR.get_by_uuid(x, recipe.sr.uuid)
    return { ref, record: await SR.get_record(x, ref) }
  }
  const refs = await SR.get_by_name_label(x, recipe.sr.name_label)
  const srs = Object.fromEntries(await Promise.all(refs.map(async (r) => [r, await SR.get_record(x, r)] as const)))
  if (refs.length < 2) return orThrow(srByName({ srs, pbds: {}, hosts: {} }, recipe.sr, undefined, 'recipe'))
  const [hosts, pbds] = await Promise.all([host.get_all_records(x), PBD.get_all_records(x)])
  // The master as the login read it (connection.ts).
  return orThrow(srByName({ srs, pbds, hosts }, recipe.sr, x.pool.master, 'recipe'))
}
