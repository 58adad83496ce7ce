import { UserError } from '../errors.js'
import { deriveMac } from '../recipe/mac.js'
import type { PoolInventory } from './inventory.js'

/** Past this many salts something is wrong (a pool cannot hold 2^23 VIFs of one OUI). */
const MAX_SALT = 1000

/**
 * Every MAC on every VIF of every pool the rollout touches, plus the ones it hands out.
 * Pools are checked together because fleets often span pools on one L2 network.
 */
export class MacRegistry {
  private owners = new Map<string, string>()

  /** `ignore`: VMs about to be removed (left by an interrupted run), whose MACs are free again. */
  constructor(pools: readonly [name: string, inv: PoolInventory][], ignore: ReadonlySet<string> = new Set()) {
    for (const [pool, inv] of pools) {
      for (const vif of Object.values(inv.vifs)) {
        if (ignore.has(vif.VM)) continue
        const vm = inv.vms[vif.VM]
        this.owners.set(vif.MAC.toLowerCase(), `VIF ${vif.uuid} of VM "${vm?.name_label ?? vif.VM}" in pool ${pool}`)
      }
    }
  }

  ownerOf(mac: string): string | undefined {
    return this.owners.get(mac.toLowerCase())
  }

  /** A MAC the fleet file gives: used as is, or an error naming who has it. */
  claimExplicit(mac: string, vm: string): string {
    const owner = this.ownerOf(mac)
    if (owner) {
      throw new UserError({
        what: `MAC ${mac} for ${vm} is already in use`,
        why: `${owner} has it; two VIFs with one MAC break the network`,
        fix: `set another mac for ${vm} in the fleet file's overrides, or drop it to derive one`,
      })
    }
    this.owners.set(mac.toLowerCase(), `VM "${vm}" of this rollout`)
    return mac.toLowerCase()
  }

  /**
   * deriveMac(name), or on a collision deriveMac(name, 1), (name, 2)…: the same pool
   * state gives the same MAC on every run, and a collision never blocks a VM.
   */
  claimDerived(vm: string): string {
    for (let salt = 0; salt <= MAX_SALT; salt++) {
      const mac = deriveMac(vm, salt)
      if (!this.owners.has(mac)) {
        this.owners.set(mac, `VM "${vm}" of this rollout`)
        return mac
      }
    }
    throw new Error(`internal: no free derived MAC for ${vm} after ${MAX_SALT} salts`)
  }
}
