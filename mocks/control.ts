import type { FaultAction } from './fault-rules.js'
import type { SimState } from './state.js'
import type { Store } from './store.js'

/** A ref, a uuid or a unique name_label: what a person writing a CI script has to hand. */
export function resolveObject(store: Store, cls: string, id: string): string {
  if (store.classOf(id) === cls) return id
  const hits = store.find(cls, (r) => r.uuid === id || r.name_label === id)
  if (hits.length !== 1) throw new RangeError(`${hits.length ? 'several' : 'no'} ${cls} match "${id}"`)
  return hits[0]![0]
}

/**
 * The one-off fault actions, moto-style state changes through a control API: they change
 * the world the way the real event would (sessions gone, an SR filled, a new master),
 * and the method bodies then fail on their own checks.
 */
export function applyAction(sim: SimState, a: FaultAction): void {
  const { store } = sim
  switch (a.action) {
    case 'expire-sessions':
      for (const ref of store.refs('session')) store.destroy('session', ref)
      return
    case 'sr-full': {
      const sr = resolveObject(store, 'SR', a.sr)
      const used = Number(store.get('SR', sr).virtual_allocation)
      store.update('SR', sr, { physical_size: used + (a.freeBytes ?? 0) })
      return
    }
    case 'master-change': {
      const host = resolveObject(store, 'host', a.host)
      store.update('pool', sim.pool, { master: host })
      return
    }
  }
}
