import { UserError, EXIT } from '../errors.js'
import type { Recipe } from '../recipe/schema.js'
import { loadUserData, driveContent, xenstoreContent } from '../cloud-init/resolve.js'
import { TemplateError } from '../cloud-init/template.js'
import { parseProbe, type Probe } from '../wait/probes.js'
import type { FirstBoot } from '../provision/first-boot.js'
import { networkConfigFor, type AddressPool } from './address-pool.js'
import type { FleetGroup } from './schema.js'

/** A group's address pool, with the name allocations share and the field errors name. */
export interface GroupPool {
  /** address_pools' key, or groups.<i>.address_pool for a pool of one group. */
  key: string
  /** The fleet file field that defines it. */
  field: string
  pool: AddressPool
}

/** The wait of a group, parsed: every probe held by the schema already. */
export interface FleetWait {
  probes: Probe[]
  timeoutMs: number
}

const bad = (what: string, why: string, fix: string): UserError => new UserError({ what, why, fix, code: 'fleet-invalid', exitCode: EXIT.badRecipe })

/**
 * The group's recipe with the group's first boot: its cloud_init replaces the recipe's
 * whole; an address pool with no network_config of the group's own gets one that gives
 * the VIF with the VM's MAC its address ({mac} and {ip} are filled per VM). A configdrive
 * datasource takes no network config: there the address reaches the guest through {ip}
 * in the user data.
 */
export function withFirstBoot(base: Recipe, group: FleetGroup, pool: GroupPool | undefined, where: string): Recipe {
  if (!group.cloud_init && !pool) return base
  const r: Recipe = structuredClone(base)
  if (group.cloud_init) r.cloud_init = structuredClone(group.cloud_init)
  if (pool) {
    r.cloud_init ??= { meta_data: {}, datasource: 'nocloud', remove_after: 'never' }
    if (r.cloud_init.datasource === 'nocloud' && !r.cloud_init.network_config) r.cloud_init.network_config = networkConfigFor(pool.pool) as NonNullable<Recipe['cloud_init']>['network_config']
  }
  if (group.wait && !r.start)
    throw bad(`${where}.wait is set, but the recipe does not start its VMs`, 'a guest that is not started never becomes ready', 'set start: true in the recipe, or remove wait')
  return r
}

export function waitOf(group: FleetGroup): FleetWait | undefined {
  if (!group.wait) return undefined
  return { probes: group.wait.probes.map((t) => parseProbe(t) as Probe), timeoutMs: group.wait.timeout * 1000 }
}

/**
 * Reads the group's user data (inline or its file) and fills every template once with a
 * sample VM, so a bad placeholder ({ip} without an address pool) stops the rollout
 * before any change rather than failing VM after VM.
 */
export async function checkedUserData(recipe: Recipe, hasPool: boolean, where: string): Promise<string | undefined> {
  if (!recipe.cloud_init && Object.keys(recipe.xenstore).length === 0) return undefined
  const userData = await loadUserData(recipe)
  const vars = { name: 'vm', index: 0, mac: '00:16:3e:00:00:00', ...(hasPool ? { ip: '192.0.2.1' } : {}) }
  try {
    if (recipe.cloud_init) driveContent(recipe, userData, vars, '00000000-0000-0000-0000-000000000000')
    xenstoreContent(recipe, vars)
  } catch (e) {
    if (!(e instanceof UserError) && !(e instanceof TemplateError)) throw e
    throw bad(`${where}: ${e instanceof UserError ? e.info.why : e.message}`, 'only a VM with an address from a pool has an {ip}', 'give the group an address_pool, or remove {ip}')
  }
  return userData
}

/** The FirstBoot provision's drive and wait steps read (src/provision/first-boot-steps.ts), for one VM. */
export function firstBootOf(userData: string | undefined, wait: FleetWait | undefined, index: number, ip: string | undefined): FirstBoot {
  return { userData, probes: wait?.probes ?? [], timeoutMs: wait?.timeoutMs ?? 600_000, index, ...(ip ? { ip } : {}) }
}
