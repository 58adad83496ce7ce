import { z } from 'zod'
import { MemorySchema, SizeSchema, VmNameSchema } from '../recipe/schema.js'
import { MAC_PATTERN } from '../select/mac.js'
import { CloudInitSchema } from '../recipe/cloud-init.js'
import { AddressPoolSchema } from './address-pool.js'
import { GroupWaitSchema } from './wait-schema.js'

/**
 * The fleet file: where to connect (pools, with credentials by environment variable
 * NAME), and groups of VMs built from recipes. Types come from z.infer; the JSON Schema
 * in schema/fleet.schema.json is generated from this (npm run schema).
 */

const size = SizeSchema

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable (e.g. LAB_XAPI_PASSWORD), never the value')

const key = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only')

export const PoolSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !new URL(u).username && !new URL(u).password, 'must not contain credentials: use user_env and password_env')
      .describe("The pool master's (or a standalone host's) XAPI URL, e.g. https://xcp1.example.net/"),
    user_env: envName.default('XAPI_USER').describe('Environment variable holding the user name'),
    password_env: envName.default('XAPI_PASSWORD').describe('Environment variable holding the password'),
    fingerprint: z
      .string()
      .regex(/^(sha256:)?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'must be a sha256 fingerprint: 64 hex digits, colons allowed')
      .optional()
      .describe("Pin the host's self-signed TLS certificate (openssl x509 -noout -fingerprint -sha256)"),
  })
  .strict()

const srSelector = z.union([z.string().min(1).describe('SR name-label'), z.object({ name_label: z.string().min(1).optional(), uuid: z.uuid().optional() }).strict()])

/** What a group may set for all its VMs; per-VM overrides add `mac`. */
export const SettingsSchema = z
  .object({
    memory: z.union([size, MemorySchema]).optional().describe('A size (static_max = dynamic_min = dynamic_max = it) or the four limits'),
    vcpus: z.number().int().min(1).max(64).optional(),
    pv_args: z.string().optional().describe('PV-args (kernel command line)'),
    network: z.string().min(1).optional().describe('Bridge of the network, e.g. xenbr1'),
    sr: srSelector.optional().describe('SR name-label, or {name_label, uuid}'),
  })
  .strict()

export const OverrideSchema = SettingsSchema.extend({
  mac: z.string().regex(MAC_PATTERN, 'must be six colon-separated hex bytes, e.g. 00:16:3e:12:34:56').optional(),
}).strict()

// Each name or pattern follows the recipe's name rule (names.ts checks the length again once expanded).
const names = z.union([VmNameSchema, z.array(VmNameSchema).min(1)]).describe('A name, a pattern such as web-{01..20}, or a list of them')

export const GroupSchema = z
  .object({
    recipe: z.string().min(1).describe('A recipe name from recipes/ or a path relative to this file'),
    image: z.string().min(1).optional().describe("Raw disk image, relative to this file (default: the recipe's image)"),
    pools: z
      .union([key, z.array(key).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .describe('Pool name(s) from `pools`; VMs are spread round-robin over their hosts'),
    hosts: z.array(z.string().min(1)).min(1).optional().describe('Only these hosts (name-label) of those pools'),
    names,
    defaults: SettingsSchema.optional().describe("Settings for every VM of the group, over the recipe's"),
    overrides: z.record(z.string().min(1), OverrideSchema).default({}).describe('Per-VM settings, by VM name'),
    cloud_init: CloudInitSchema.optional().describe("The config drive of each VM (as a recipe's cloud_init, which it replaces whole); user_data_file is relative to the fleet file"),
    address_pool: z.union([key, AddressPoolSchema]).optional().describe('A pool name from address_pools, or a pool of this group alone: each VM gets a static address from it, kept across re-runs'),
    wait: GroupWaitSchema.optional(),
  })
  .strict()

export const FleetSchema = z
  .object({
    name: key.max(64).describe('Fleet name: every VM is tagged with it (other_config xcp-provision:fleet)'),
    pools: z.record(key, PoolSchema).refine((p) => Object.keys(p).length > 0, 'name at least one pool'),
    concurrency: z
      .object({
        total: z.number().int().min(1).optional().describe('VMs in flight at once across all hosts (default 16)'),
        per_host: z.number().int().min(1).optional().describe('VMs in flight at once on one host (default 4)'),
      })
      .strict()
      .default({}),
    address_pools: z.record(key, AddressPoolSchema).default({}).describe('Static address pools, by name, that groups share (address_pool: <name>)'),
    groups: z.array(GroupSchema).min(1),
  })
  .strict()
  .superRefine((f, ctx) => {
    f.groups.forEach((g, i) => {
      if (typeof g.address_pool === 'string' && !(g.address_pool in f.address_pools)) {
        const known = Object.keys(f.address_pools)
        ctx.addIssue({
          code: 'custom',
          path: ['groups', i, 'address_pool'],
          message: `unknown address pool "${g.address_pool}" (${known.length ? `address_pools: ${known.join(', ')}` : 'the fleet has no address_pools'})`,
        })
      }
      for (const p of g.pools) {
        if (!(p in f.pools)) ctx.addIssue({ code: 'custom', path: ['groups', i, 'pools'], message: `unknown pool "${p}" (pools: ${Object.keys(f.pools).join(', ')})` })
      }
    })
  })

export type Fleet = z.infer<typeof FleetSchema>
export type FleetInput = z.input<typeof FleetSchema>
export type FleetGroup = z.infer<typeof GroupSchema>
export type FleetPool = z.infer<typeof PoolSchema>
export type VmSettings = z.infer<typeof OverrideSchema>
export type { AddressPool } from './address-pool.js'
