import type { NetworkRecord } from '../xapi/records.js'
import { chosen, refused, type Choice, type Picked, type Source } from './choice.js'

const FIX: Record<Source, string> = {
  recipe: 'set network.bridge in the recipe to one of those',
  fleet: 'set network in the fleet file (or network.bridge in the recipe) to one of those',
}

/** The network whose bridge (xenbr0, …) the recipe names; a bridge is unique within a pool. */
export function networkByBridge<R extends Pick<NetworkRecord, 'bridge'>>(networks: Record<string, R>, bridge: string, source: Source): Choice<Picked<R>> {
  const hit = Object.entries(networks).find(([, n]) => n.bridge === bridge)
  if (hit) return chosen({ ref: hit[0], record: hit[1] })
  return refused({
    code: 'not-found',
    what: `No network on bridge ${bridge}`,
    why: `bridges here: ${
      Object.values(networks)
        .map((n) => n.bridge)
        .join(', ') || 'none'
    }`,
    fix: FIX[source],
  })
}
