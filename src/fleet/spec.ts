import type { Recipe } from '../recipe/schema.js'
import { UserError, EXIT } from '../errors.js'
import type { ResolvedFleet } from './load.js'
import type { VmSettings } from './schema.js'
import { waitOf, withFirstBoot, type FleetWait, type GroupPool } from './first-boot.js'

const MiB = 1024 * 1024

/** One VM as the fleet file wants it: the recipe with the group's and the VM's settings applied. */
export interface VmSpec {
  name: string
  group: number
  /** The recipe with the group's defaults: what the group's golden template carries. */
  groupRecipe: Recipe
  /** groupRecipe plus this VM's overrides: what the VM must end up with. */
  recipe: Recipe
  image: string
  pools: string[]
  hosts: string[] | undefined
  /** Its position in the group, from 0: the {index} of its templates. */
  index: number
  /** The address pool the VM gets its static address from. */
  addressPool: GroupPool | undefined
  /** What must hold before the VM counts as ready (the group's wait). */
  wait: FleetWait | undefined
}

/** The group's address pool: a named one of the fleet, or its own. */
function poolOf(f: ResolvedFleet, g: ResolvedFleet['groups'][number]): GroupPool | undefined {
  const a = g.group.address_pool
  if (a === undefined) return undefined
  if (typeof a === 'string') return { key: a, field: `address_pools.${a}`, pool: f.fleet.address_pools[a]! }
  return { key: `groups.${g.index}.address_pool`, field: `groups.${g.index}.address_pool`, pool: a }
}

/** Applies settings over a recipe without touching the input (recipes are shared between VMs). */
export function applySettings(base: Recipe, s: VmSettings | undefined, where: string): Recipe {
  if (!s) return base
  const r: Recipe = structuredClone(base)
  if (s.memory !== undefined) {
    if (typeof s.memory === 'number') {
      if (s.memory < 16 * MiB) {
        throw new UserError({ what: `${where}: memory ${s.memory} is too small`, why: 'below 16 MiB a guest cannot boot', fix: 'give at least 16MiB', code: 'fleet-invalid', exitCode: EXIT.badRecipe })
      }
      // One size means "this much": static_min only moves down, to keep static_min <= the rest.
      r.memory = { static_min: Math.min(r.memory.static_min, s.memory), static_max: s.memory, dynamic_min: s.memory, dynamic_max: s.memory }
    } else {
      r.memory = s.memory
    }
  }
  if (s.vcpus !== undefined) r.vcpus = s.vcpus
  if (s.pv_args !== undefined) {
    if (r.boot.mode === 'hvm') {
      throw new UserError({
        what: `${where}: pv_args is for boot.mode pv or pvh`,
        why: `the recipe boots as hvm: its firmware loads the kernel from the disk and XAPI ignores PV-args`,
        fix: "remove pv_args (set kernel options in the guest's /boot/loader.conf), or use a pv or pvh recipe",
        code: 'fleet-invalid',
        exitCode: EXIT.badRecipe,
      })
    }
    r.pv.args = s.pv_args
  }
  if (s.network !== undefined) r.network.bridge = s.network
  if (s.sr !== undefined) {
    // A name alone drops the recipe's uuid: the uuid picked an SR of the old name.
    r.sr = typeof s.sr === 'string' ? { name_label: s.sr } : { name_label: s.sr.name_label ?? r.sr.name_label, ...(s.sr.uuid ? { uuid: s.sr.uuid } : {}) }
  }
  if (s.mac !== undefined) r.network.mac = s.mac
  return r
}

/** Every VM of the fleet, in file order. */
export function vmSpecs(f: ResolvedFleet): VmSpec[] {
  const where = f.file ?? 'fleet'
  return f.groups.flatMap((g) => {
    const addressPool = poolOf(f, g)
    const groupRecipe = withFirstBoot(applySettings(g.recipe, g.group.defaults, `${where}: groups.${g.index}.defaults`), g.group, addressPool, `${where}: groups.${g.index}`)
    const wait = waitOf(g.group)
    if (!g.image) {
      throw new UserError({
        what: `${where}: groups.${g.index} has no image`,
        why: `neither the group nor the recipe ${g.recipeFile} names one`,
        fix: 'add image: <disk image> (raw, qcow2, VHD or VMDK, also .xz or .gz) to the group',
        code: 'fleet-invalid',
        exitCode: EXIT.badRecipe,
      })
    }
    const image = g.image
    return g.names.map((name, index) => ({
      name,
      index,
      addressPool,
      wait,
      group: g.index,
      groupRecipe,
      recipe: applySettings(groupRecipe, g.group.overrides[name], `${where}: groups.${g.index}.overrides.${name}`),
      image,
      pools: g.group.pools,
      hosts: g.group.hosts,
    }))
  })
}
