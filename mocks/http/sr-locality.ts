import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { SimState } from '../state.js'

/**
 * Where a raw VDI transfer must be served. xapi's import_raw_vdi (and export) handler
 * answers 302 when the VDI's SR is not plugged on the host that received the request,
 * pointing at a host where it is: a Local storage SR lives on one host only, so an
 * upload to it through the pool master is redirected to that host. Returns the
 * Location to send, or undefined when this host can serve the VDI itself.
 *
 * Real XAPI sends https://<address>/…; the simulator keeps this listener's scheme and
 * port, since all hosts of a simulated pool share one port on their own addresses.
 */
export function redirectFor(req: IncomingMessage, sim: SimState, vdi: string): string | undefined {
  const sr = String(sim.store.get('VDI', vdi).SR)
  if (!sim.store.has(sr)) return undefined
  const plugged = sim.store
    .find('PBD', (p) => p.SR === sr && p.currently_attached === true)
    .map(([, p]) => String(p.host))
    .filter((h) => sim.store.has(h))
  if (plugged.length === 0 || plugged.includes(sim.host)) return undefined
  const address = String(sim.store.get('host', plugged[0]!).address)
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  const host = address.includes(':') ? `[${address}]` : address
  return `${scheme}://${host}:${req.socket.localPort}${req.url ?? '/'}`
}
