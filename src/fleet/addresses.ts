import { UserError, EXIT } from '../errors.js'
import { buildingName } from '../provision/marks.js'
import { ADDRESS_KEY, capacity, candidates, inPool } from './address-pool.js'
import { TAG, type PoolInventory } from './inventory.js'
import type { VmPlan } from './planner.js'

const NULL_REF = 'OpaqueRef:NULL'

/**
 * Gives each VM of a group with an address pool its static address, after planning and
 * before any change. An existing VM keeps the address recorded on it (ADDRESS_KEY); a
 * VM made anew (missing, replaced, or left unfinished by a killed run) gets back the
 * address recorded on its old self when it is still free, else the lowest free one.
 * Held, never handed out: every address recorded on, or reported by the guest agent of,
 * any other VM in any pool of the fleet (other groups, other fleets, VMs made by hand).
 * Too few free addresses stop the rollout here, naming the pool's field.
 */
export function assignAddresses(vms: VmPlan[], pools: [string, PoolInventory][], fleet: string): void {
  const users = vms.filter((v) => v.spec.addressPool)
  if (!users.length) return
  const freed = new Set(vms.flatMap((v) => [...v.leftovers.flatMap((l) => l.found.vms.map((x) => x.ref)), ...(v.replacing ? [v.replacing.vm.ref] : [])]))
  const held = new Map<string, string>()
  const own = new Map<string, string>()
  for (const [poolName, inv] of pools) {
    for (const [ref, vm] of Object.entries(inv.vms)) {
      if (vm.is_a_template || vm.is_a_snapshot || vm.is_control_domain) continue
      const name = vm.other_config[TAG.vm]
      const mine = vm.other_config[TAG.fleet] === fleet && name !== undefined && (vm.name_label === name || vm.name_label === buildingName(name))
      const recorded = vm.other_config[ADDRESS_KEY]
      // A VM this run removes (a leftover, a replaced VM) holds nothing, but its name gets its address back.
      if (mine && recorded && (freed.has(ref) || !own.has(name))) own.set(name, recorded)
      if (freed.has(ref)) continue
      const gm = (vm as { guest_metrics?: string }).guest_metrics
      const reported = gm && gm !== NULL_REF ? Object.entries(inv.guestNetworks[gm] ?? {}).filter(([k]) => /^\d+\/(ip|ipv4\/\d+)$/.test(k)) : []
      const who = `VM "${vm.name_label}" (${vm.uuid}, pool ${poolName})`
      for (const ip of [...(recorded ? [recorded] : []), ...reported.map(([, ip]) => ip)]) if (!held.has(ip)) held.set(ip, who)
    }
  }
  const short = new Map<string, { field: string; want: number; have: number; held: string[] }>()
  const makes = (v: VmPlan): boolean => v.action === 'create' || v.action === 'replace'
  for (const v of users) {
    const recorded = v.existing?.record.other_config[ADDRESS_KEY]
    // A VM already made keeps what it was given (or, made before the pool, has none): an address never moves under a running guest.
    if (v.existing && !makes(v) && recorded) v.address = recorded
  }
  // First, names made anew get their old address back, before any other name can take it.
  const anew = users.filter(makes)
  for (const v of anew) {
    const before = own.get(v.spec.name)
    if (before === undefined || !inPool(v.spec.addressPool!.pool, before) || held.has(before)) continue
    held.set(before, `fleet VM "${v.spec.name}"`)
    v.address = before
  }
  for (const v of anew.filter((x) => x.address === undefined)) {
    const ap = v.spec.addressPool!
    let ip: string | undefined
    for (const c of candidates(ap.pool)) {
      if (held.has(c)) continue
      ip = c
      break
    }
    if (ip === undefined) {
      const s = short.get(ap.key) ?? { field: ap.field, want: 0, have: capacity(ap.pool), held: [] }
      s.want++
      short.set(ap.key, s)
      continue
    }
    held.set(ip, `fleet VM "${v.spec.name}"`)
    v.address = ip
  }
  for (const [key, s] of short) {
    const pool = users.find((v) => v.spec.addressPool!.key === key)!.spec.addressPool!.pool
    const taken = [...held].filter(([ip]) => inPool(pool, ip))
    const others = taken.filter(([, who]) => !who.startsWith('fleet VM'))
    throw new UserError({
      what: `${s.field} has no free address for ${s.want} more VM${s.want === 1 ? '' : 's'}`,
      why: `its ${s.have} addresses are all held: ${taken.length - others.length} by this fleet's VMs, ${others.length} by other VMs${
        others.length
          ? ` (${others
              .slice(0, 3)
              .map(([ip, who]) => `${ip} by ${who}`)
              .join(', ')}${others.length > 3 ? ', …' : ''})`
          : ''
      }`,
      fix: `widen ${s.field}.range (or cidr) by at least ${s.want}, or free addresses; nothing was changed`,
      code: 'address-pool-exhausted',
      exitCode: EXIT.badRecipe,
    })
  }
}
