import { startSimulator, type Simulator } from './simulator.js'
import type { InventoryFile, PoolSpecT } from './inventory-file.js'
import type { SavedPool } from './state-file.js'

/**
 * Every pool of an inventory file, each its own XAPI database, as separate pools are.
 * All hosts listen on one port at their own addresses: the xen-api client follows
 * HOST_IS_SLAVE by swapping the address and keeping the port.
 */
export async function startInventory(inv: InventoryFile, opts: { port?: number; restore?: SavedPool[] } = {}): Promise<Simulator[]> {
  // A saved state brings its own pools; the file then only lends credentials and pygrub.
  const worlds: ({ pool: PoolSpecT } | { restore: SavedPool })[] =
    opts.restore?.map((restore) => ({ restore })) ?? inv.pools.map((pool) => ({ pool: { ...pool, ...((pool.profile ?? inv.profile) ? { profile: pool.profile ?? inv.profile } : {}) } }))
  const sims: Simulator[] = []
  let port = opts.port ?? 0
  try {
    for (const world of worlds) {
      const sim = await startSimulator({
        ...world,
        port,
        ...(inv.credentials ? { credentials: inv.credentials } : {}),
        ...(inv.pygrub ? { pygrub: inv.pygrub } : {}),
      })
      sims.push(sim)
      port = Number(new URL(sim.url).port)
    }
  } catch (e) {
    await Promise.all(sims.map((s) => s.close()))
    throw e
  }
  return sims
}
