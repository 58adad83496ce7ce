import { fault } from '../fault.js'
import { refArg, type Handlers } from '../context.js'

export const hostHandlers: Handlers = {
  /**
   * The PEM a host serves HTTPS with. A client that pinned the master's certificate
   * uses it to trust a member it is redirected to, over a channel it already trusts.
   */
  'host.get_server_certificate': (c, [host]) => {
    c.store.get('host', refArg(host)) // HANDLE_INVALID for a ref that is not a host
    const pem = c.sim.certificates.get(refArg(host))
    // xapi reads /etc/xensource/xapi-ssl.pem; a host of the simulator serving plain HTTP has none.
    if (pem === undefined) throw fault('INTERNAL_ERROR', 'this simulated host serves plain HTTP and has no certificate (inventory: hosts[].tls)')
    return pem
  },
}
