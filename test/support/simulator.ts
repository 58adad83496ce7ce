import { it } from 'vitest'
import { afterEveryTest } from './after-each.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../mocks/simulator.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'

/**
 * Simulators and connections owned by one test, closed when it ends. Held calls are let
 * go first (faults.clear()), so a test that fails while holding one cannot hang the close.
 */
/** The newest simulated release that still runs PV guests (docs/simulator.md "Profiles"). */
export const PV_PROFILE = 'xcp-ng-8.2'

class Owned {
  private sims: Simulator[] = []
  private conns: XapiConnection[] = []

  // XCP-ng 8.2 unless a test picks a profile: the suite's PV recipe (freebsd-9) needs a
  // release that still runs PV, and the simulator's default, XCP-ng 8.3, refuses it.
  async simulator(opts: SimulatorOptions = {}): Promise<Simulator> {
    const sim = await startSimulator({ profile: PV_PROFILE, ...opts })
    this.sims.push(sim)
    return sim
  }

  async connection(sim: Simulator): Promise<XapiConnection> {
    const c = await connect({ url: sim.url, ...sim.credentials })
    this.conns.push(c)
    return c
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.splice(0).map((c) => c.close().catch(() => undefined)))
    await Promise.all(
      this.sims.splice(0).map((s) => {
        s.faults.clear()
        return s.close()
      }),
    )
  }
}

// The module-level helpers below share one owner: fine for tests that run one after
// another. Tests in a describe.concurrent block use simTest's fixtures instead.
const shared = new Owned()
afterEveryTest(() => shared.close())

/** A fresh simulator on a free port, closed after the test. */
export function withSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  return shared.simulator(opts)
}

/** A logged-in connection through the real xen-api client, closed after the test. */
export function connectTo(sim: Simulator): Promise<XapiConnection> {
  return shared.connection(sim)
}

export interface SimFixtures {
  /** A fresh simulator for this test alone, closed when the test ends. */
  newSim: (opts?: SimulatorOptions) => Promise<Simulator>
  /** A logged-in xen-api connection, closed when the test ends. */
  connectTo: (sim: Simulator) => Promise<XapiConnection>
}

/**
 * `it` with per-test simulators, for tests that run concurrently in one file:
 *
 *   describe.concurrent('...', () => {
 *     simTest('...', async ({ newSim, expect }) => { const sim = await newSim(); ... })
 *   })
 */
export const simTest = it.extend<SimFixtures & { owned: Owned }>({
  // vitest reads a fixture's dependencies from its destructuring pattern: none here.
  owned: async ({}, use) => {
    const owned = new Owned()
    await use(owned)
    await owned.close()
  },
  newSim: async ({ owned }, use) => use((opts) => owned.simulator(opts)),
  connectTo: async ({ owned }, use) => use((sim) => owned.connection(sim)),
})

/** The Authorization header the control API (/_sim/) asks for: the simulator's own credentials. */
export function simAuthorization(sim: Pick<Simulator, 'credentials'>): string {
  return `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}`
}
