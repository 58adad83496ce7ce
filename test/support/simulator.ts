import { afterEach } from 'vitest'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../mocks/simulator.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'

const open: Simulator[] = []
const conns: XapiConnection[] = []

afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)))
  await Promise.all(open.splice(0).map((s) => s.close()))
})

/** A fresh simulator on a free port, closed after the test. */
export async function withSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(opts)
  open.push(sim)
  return sim
}

/** A logged-in connection through the real xen-api client, closed after the test. */
export async function connectTo(sim: Simulator): Promise<XapiConnection> {
  const c = await connect({ url: sim.url, ...sim.credentials })
  conns.push(c)
  return c
}
