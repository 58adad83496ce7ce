import { fault } from '../fault.js'
import type { Handlers } from '../context.js'

/**
 * VIF.configure_ipv4/ipv6 (xapi_vif.ml): the address a guest with the static-IP feature
 * should take. Static needs an address in CIDR form; the gateway may be empty.
 */
function configure(v: 4 | 6): Handlers[string] {
  return (c, [self, mode, address, gateway]) => {
    const ref = String(self)
    c.store.get('VIF', ref)
    const a = String(address)
    if (mode === 'Static' && !/^[0-9a-fA-F:.]+\/\d+$/.test(a)) throw fault('INVALID_IP_ADDRESS_SPECIFIED', 'address')
    const field = v === 4 ? 'ipv4' : 'ipv6'
    c.store.update('VIF', ref, { [`${field}_configuration_mode`]: String(mode), [`${field}_addresses`]: a === '' ? [] : [a], [`${field}_gateway`]: String(gateway) })
  }
}

export const vifIpHandlers: Handlers = { 'VIF.configure_ipv4': configure(4), 'VIF.configure_ipv6': configure(6) }
