import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { UserError, EXIT } from '../errors.js'
import { loadRecipe } from '../recipe/load.js'
import type { Recipe } from '../recipe/schema.js'
import { FleetSchema, type Fleet, type FleetGroup, type FleetInput } from './schema.js'
import { capacity, type AddressPool } from './address-pool.js'
import { expandNames, NamePatternError } from './names.js'

export interface ResolvedGroup {
  index: number
  group: FleetGroup
  recipeFile: string
  recipe: Recipe
  /** Absolute path of the image, or undefined when neither the group nor the recipe names one. */
  image: string | undefined
  names: string[]
}

export interface ResolvedFleet {
  /** The fleet file, or undefined when the fleet was given as an object. */
  file: string | undefined
  fleet: Fleet
  groups: ResolvedGroup[]
}

const bad = (what: string, why: string, fix: string): UserError => new UserError({ what, why, fix, code: 'fleet-invalid', exitCode: EXIT.badRecipe })

/**
 * zod reports a failed union as "Invalid input"; the useful message is in the branch
 * that had the right type (a size string that says "GB", not the object branch).
 */
function explainIssue(i: z.core.$ZodIssue, path: PropertyKey[] = []): string {
  const at = [...path, ...i.path]
  if (i.code === 'invalid_union' && i.errors.length) {
    const branch = i.errors.find((b) => b.length && b.every((x) => x.code !== 'invalid_type')) ?? i.errors[0]!
    if (branch[0]) return explainIssue(branch[0], at)
  }
  return `${at.length ? at.join('.') : '(top level)'}: ${i.message}`
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => explainIssue(i)).join('; ')
}

/** Validates a fleet given as data; recipes, images and names resolve against `baseDir`. */
export async function resolveFleet(input: FleetInput | Fleet, baseDir: string, file?: string): Promise<ResolvedFleet> {
  const where = file ?? 'The fleet'
  const r = FleetSchema.safeParse(input)
  if (!r.success) {
    throw bad(`${file ? `Fleet file ${file}` : 'The fleet'} is invalid`, issues(r.error), 'edit the fields named above (schema/fleet.schema.json lists every field)')
  }
  const fleet = r.data
  const seen = new Map<string, number>()
  const groups: ResolvedGroup[] = []
  for (const [index, group] of fleet.groups.entries()) {
    let names: string[]
    try {
      names = expandNames(group.names)
    } catch (e) {
      if (e instanceof NamePatternError) throw bad(`${where}: groups.${index}.names is invalid`, e.message, 'write names as a list or a pattern such as web-{01..20}')
      throw e
    }
    for (const n of names) {
      const other = seen.get(n)
      if (other !== undefined) throw bad(`${where}: VM "${n}" is in groups ${other} and ${index}`, 'a VM name must be unique in a fleet: it is how a re-run finds the VM', 'rename one of them')
      seen.set(n, index)
    }
    const unknown = Object.keys(group.overrides).filter((n) => !seen.has(n) || seen.get(n) !== index)
    if (unknown.length) {
      throw bad(`${where}: groups.${index}.overrides names VMs not in the group`, `unknown: ${unknown.join(', ')}`, "override only VMs the group's names produce (check the spelling and padding)")
    }
    // Relative to the fleet file, as the group's image is.
    const ci = group.cloud_init
    if (ci?.user_data_file && !isAbsolute(ci.user_data_file)) ci.user_data_file = resolve(baseDir, ci.user_data_file)
    const { file: recipeFile, recipe } = await loadRecipe(group.recipe, baseDir)
    const image = group.image ? (isAbsolute(group.image) ? group.image : resolve(baseDir, group.image)) : recipe.image
    groups.push({ index, group, recipeFile, recipe, image, names })
  }
  checkPoolSizes(fleet, groups, where)
  return { file, fleet, groups }
}

/**
 * Before login: a pool with fewer addresses than the VMs of the groups using it can never
 * serve them. (Addresses held by other VMs are counted once the pools are read: addresses.ts.)
 */
function checkPoolSizes(fleet: Fleet, groups: ResolvedGroup[], where: string): void {
  const users = new Map<string, { field: string; pool: AddressPool; vms: number }>()
  for (const g of groups) {
    const a = g.group.address_pool
    if (a === undefined) continue
    const [k, field, pool] = typeof a === 'string' ? [a, `address_pools.${a}`, fleet.address_pools[a]!] : [`#${g.index}`, `groups.${g.index}.address_pool`, a]
    const u = users.get(k) ?? { field, pool, vms: 0 }
    u.vms += g.names.length
    users.set(k, u)
  }
  for (const u of users.values()) {
    const have = capacity(u.pool)
    if (have < u.vms) {
      throw new UserError({
        what: `${where}: ${u.field} has ${have} address${have === 1 ? '' : 'es'} for ${u.vms} VMs`,
        why: `each VM of the groups using it gets an address of its own (${u.pool.range ? `range ${u.pool.range.start}-${u.pool.range.end}` : `subnet ${u.pool.cidr}`}, less the gateway, network and broadcast addresses)`,
        fix: `widen ${u.field}.range (or cidr) to at least ${u.vms} addresses, or give some groups another pool`,
        code: 'address-pool-exhausted',
        exitCode: EXIT.badRecipe,
      })
    }
  }
}

/** Reads a YAML or JSON fleet file; recipes and images are relative to it. */
export async function loadFleet(path: string, cwd = process.cwd()): Promise<ResolvedFleet> {
  const file = isAbsolute(path) ? path : resolve(cwd, path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw new UserError({ what: `Cannot read fleet file ${file}`, why: (e as Error).message, fix: 'check the path and permissions', code: 'fleet-not-found', exitCode: EXIT.badRecipe })
  }
  let data: unknown
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    throw bad(`Fleet file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}`, (e as Error).message, 'fix the syntax at the position given')
  }
  return resolveFleet(data as FleetInput, dirname(file), file)
}
