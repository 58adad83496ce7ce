import { createHash } from 'node:crypto'
import type { VifRecord } from '../xapi/records.js'
import { chosen, refused, type Choice, type Source } from './choice.js'

/** Xen's OUI (00:16:3e), from the IEEE registry; the HOWTO and libxl use it. */
export const XEN_OUI = '00:16:3e'
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/

/**
 * A stable MAC for a VM name: Xen's OUI plus three bytes of sha256(name). The top bit
 * of the fourth byte is cleared as libxl does for its generated addresses, leaving
 * 00:16:3e:80:00:00 and above to hand-assigned MACs. Same name, same MAC, on every run.
 * A salt (the fleet's answer to a collision) hashes `name#salt` instead.
 */
export function deriveMac(vmName: string, salt = 0): string {
  const h = createHash('sha256')
    .update(salt === 0 ? vmName : `${vmName}#${salt}`)
    .digest()
  const tail = [h[0]! & 0x7f, h[1]!, h[2]!]
  return [XEN_OUI, ...tail.map((b) => b.toString(16).padStart(2, '0'))].join(':')
}

/** Past this many salts something is wrong (a pool cannot hold 2^23 VIFs of one OUI). */
const MAX_SALT = 1000

/** The VIFs of one pool, with its VMs' names for the message when they are known. */
export interface VifSource {
  vifs: Record<string, Pick<VifRecord, 'uuid' | 'VM' | 'MAC'>>
  vms?: Record<string, { name_label: string }>
  pool?: string
}

const FIX: Record<Source, { explicit: (vm: string | undefined) => string; derived: string }> = {
  recipe: { explicit: () => 'set another network.mac in the recipe, or "derived"', derived: 'pass --name with another VM name (the MAC is derived from it)' },
  fleet: { explicit: (vm) => `set another mac for ${vm ?? 'the VM'} in the fleet file's overrides, or drop it to derive one`, derived: 'rename the VM in the fleet file' },
}

/**
 * Every MAC in use and who has it, plus the ones handed out since. Two VIFs with one MAC
 * break the network, so a MAC is free only when no VIF of any pool given has it (fleets
 * often span pools on one L2 network). Compared without case: XAPI keeps what it is given.
 */
export class MacRegistry {
  private owners = new Map<string, string>()

  /** `ignore`: VMs about to be removed (an interrupted run's, or replaced ones), whose MACs are free again. */
  constructor(sources: readonly VifSource[], ignore: ReadonlySet<string> = new Set()) {
    for (const { vifs, vms, pool } of sources) {
      for (const vif of Object.values(vifs)) {
        if (ignore.has(vif.VM)) continue
        const vm = vms ? `"${vms[vif.VM]?.name_label ?? vif.VM}"` : vif.VM
        this.owners.set(vif.MAC.toLowerCase(), `VIF ${vif.uuid} of VM ${vm}${pool !== undefined ? ` in pool ${pool}` : ''}`)
      }
    }
  }

  ownerOf(mac: string): string | undefined {
    return this.owners.get(mac.toLowerCase())
  }

  /**
   * A MAC the file gives, used as given (lower case), or a refusal naming who has it.
   * `vm` names the VM in the message when several are being placed (the fleet).
   */
  claimExplicit(mac: string, vm: string | undefined, source: Source): Choice<string> {
    const owner = this.ownerOf(mac)
    if (owner) {
      return refused({
        code: 'mac-taken',
        what: `MAC ${mac}${vm !== undefined ? ` for ${vm}` : ''} is already in use`,
        why: `${owner} has it; two VIFs with one MAC break the network`,
        fix: FIX[source].explicit(vm),
      })
    }
    return chosen(this.take(mac, vm))
  }

  /**
   * deriveMac(vm). With `salted` (the fleet), a collision moves on to deriveMac(vm, 1),
   * (vm, 2)…: the same pool state gives the same MAC on every run and a collision never
   * blocks a VM. Without (provision), a collision is refused: the name is the fix.
   */
  claimDerived(vm: string, salted: boolean, source: Source): Choice<string> {
    for (let salt = 0; salt <= (salted ? MAX_SALT : 0); salt++) {
      const mac = deriveMac(vm, salt)
      if (!this.owners.has(mac)) return chosen(this.take(mac, vm))
    }
    const mac = deriveMac(vm)
    return refused({
      code: 'mac-taken',
      what: salted ? `No free derived MAC for ${vm}` : `MAC ${mac} is already in use`,
      why: salted ? `${MAX_SALT + 1} salted MACs derived from the name are all taken` : `${this.ownerOf(mac) ?? 'another VIF'} has it; two VIFs with one MAC break the network`,
      fix: FIX[source].derived,
    })
  }

  private take(mac: string, vm: string | undefined): string {
    this.owners.set(mac.toLowerCase(), `VM "${vm ?? 'this run'}" of this ${vm === undefined ? 'run' : 'rollout'}`)
    return mac.toLowerCase()
  }
}
