import { createServer, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Store } from './store.js'
import { createDispatcher, type Dispatcher } from './dispatch.js'
import { buildPool, type Inventory } from './inventory.js'
import { defaultPool, type PoolSpecT } from './inventory-file.js'
import type { Credentials, FirmwareBoot, PygrubFlavour, SimState, Transport } from './state.js'
import type { XRecord } from './datamodel/model.js'
import { createRequestHandler } from './http/router.js'
import { Faults } from './faults.js'
import { applyAction } from './control.js'
import { FaultActionSchema } from './fault-rules.js'
import { restorePool, savePool, type SavedPool } from './state-file.js'
import { DiskMap } from './sparse-disk.js'
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http/body.js'
import { configureGuests } from './guest/world.js'
import { keepDerivedValues } from './classes/derived.js'

export interface SimulatorOptions {
  /** The master's port; 0 (default) picks a free one. Pool members listen on the same port at their own address. */
  port?: number
  /** Default 127.0.0.1. Ignored with `pool`, whose hosts carry their addresses. */
  listen?: string
  credentials?: Credentials
  pygrub?: PygrubFlavour
  hostName?: string
  localSrSize?: number
  /** A pool as an inventory file describes it (inventory-file.ts); default one host. */
  pool?: PoolSpecT
  /** A pool saved by save() (state-file.ts): its objects and disks replace `pool`. */
  restore?: SavedPool
  /** The simulated release (mocks/profiles.ts): xcp-ng-8.3 (default), xenserver-8, xcp-ng-8.2, xcp-1.1. Overrides the pool's `profile`. */
  profile?: string
  /** Milliseconds from VM.start to a simulated guest's first report (default 300; mocks/guest). */
  guestBootMs?: number
  /** Serve HTTPS with this PEM key and certificate (one host; a `pool` gives each host its own). */
  tls?: { key: string; cert: string }
  /** Size and time bounds on requests (http/body.ts); xapi's by default, shorter in tests. */
  httpLimits?: Partial<HttpLimits>
}

export interface SimulatorHost {
  name: string
  ref: string
  /** http://ADDR:PORT/ (https:// with TLS) of this host's own listener. */
  url: string
}

export interface Simulator {
  /** http://ADDR:PORT/ of the master. */
  url: string
  /** Every host of the pool with its own listener, master first. */
  hosts: SimulatorHost[]
  credentials: Credentials
  inventory: Inventory
  /** The database, for assertions: records keyed by class then ref. */
  objects(): Record<string, Record<string, XRecord>>
  /** VDI contents by ref, for assertions on what was uploaded. */
  readVdi(ref: string, offset?: number, length?: number): Buffer
  /** Every RPC method received, in order. */
  calls(): string[]
  /** The same, with the transport each call came over. */
  callLog(): { method: string; transport: Transport }[]
  /** What the HVM firmware did at each VM.start of `vm` (a ref), oldest first: booted device and chain, or why nothing booted, and its console lines. */
  console(vm: string): FirmwareBoot[]
  /** Raw VDI transfers in order: method, path, the name of the host that answered, its status (302 for a redirect; 0 until the exchange is over). */
  transfers(): { method: string; path: string; host: string; status: number }[]
  /** The master's dispatcher: calls in-process, without HTTP. */
  dispatcher: Dispatcher
  state: SimState
  /** Inject failures: sim.faults.add({ method: 'VIF.create', error: ['INTERNAL_ERROR', 'boom'] }). */
  faults: Faults
  /** The objects (sessions and tasks aside) and VDI contents, for --state-file. */
  save(): SavedPool
  close(): Promise<void>
}

export const DEFAULT_CREDENTIALS: Credentials = { user: 'root', password: 'simulator' }

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const spec = opts.pool ?? defaultPool({ address: opts.listen ?? '127.0.0.1', ...pick(opts) })
  if (opts.tls && !opts.pool) spec.hosts[0]!.tls = opts.tls
  const store = new Store()
  keepDerivedValues(store)
  // VDI contents live in sparse temporary files (sparse-disk.ts), removed by close().
  const disks = new DiskMap()
  const inventory = opts.restore ? restorePool(store, disks, opts.restore) : buildPool(store, spec, opts.profile ?? spec.profile)
  configureGuests(store, { bootMs: opts.guestBootMs ?? spec.guestBootMs, networks: spec.networks })
  const state: SimState = {
    store,
    credentials: opts.credentials ?? DEFAULT_CREDENTIALS,
    pool: inventory.pool,
    host: inventory.host,
    disks,
    pygrub: opts.pygrub ?? 'upstream',
    profile: inventory.profile,
    callLog: [],
    life: { closing: false, lastDomid: 0 },
    faults: new Faults((a) => applyAction(state, a)),
    certificates: new Map(),
    consoles: new Map(),
    transferLog: [],
  }
  for (const f of opts.restore ? [] : spec.faults) {
    const action = FaultActionSchema.safeParse(f)
    if (action.success) state.faults.apply(action.data)
    else if (!('action' in f)) state.faults.add(f)
  }
  // Master first, so a free port it picks is the one every member then shares.
  const ordered = [...inventory.hosts].sort((a, b) => Number(b.ref === inventory.host) - Number(a.ref === inventory.host))
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.httpLimits }
  const listeners: { server: Server; inflight: () => number; host: SimulatorHost }[] = []
  let port = opts.port ?? 0
  let masterDispatcher: Dispatcher | undefined
  try {
    for (const h of ordered) {
      // Each host is a view of the shared state that differs only in which host it is.
      const view: SimState = { ...state, host: h.ref }
      const dispatcher = createDispatcher(view)
      masterDispatcher ??= dispatcher
      const handler = createRequestHandler(view, dispatcher, limits)
      const tls = spec.hosts.find((s) => s.name === h.name)?.tls
      if (tls) state.certificates.set(h.ref, tls.cert)
      const server: Server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler)
      // Long event.from polls must not be cut by Node's default request timeouts; bodies
      // have their own bounds (http/body.ts), headers xapi's 60 s.
      server.requestTimeout = 0
      server.headersTimeout = limits.headersMs
      server.keepAliveTimeout = 5000
      await listenOn(server, port, h.address)
      port = (server.address() as AddressInfo).port
      const addr = h.address.includes(':') ? `[${h.address}]` : h.address
      listeners.push({ server, inflight: handler.inflight, host: { name: h.name, ref: h.ref, url: `${tls ? 'https' : 'http'}://${addr}:${port}/` } })
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => new Promise((r) => l.server.close(r))))
    disks.close()
    throw e
  }
  return {
    url: listeners[0]!.host.url,
    hosts: listeners.map((l) => l.host),
    credentials: state.credentials,
    inventory,
    objects: () => store.snapshot(),
    readVdi: (ref, offset = 0, length) => {
      const disk = state.disks.get(ref)
      if (!disk) throw new Error(`no VDI ${ref}`)
      return disk.read(offset, length ?? disk.size - offset)
    },
    calls: () => state.callLog.map((c) => c.method),
    callLog: () => state.callLog.map(({ method, transport }) => ({ method, transport })),
    console: (vm) => [...(state.consoles.get(vm) ?? [])],
    transfers: () => state.transferLog.map((t) => ({ ...t, host: String(store.has(t.host) ? store.get('host', t.host).name_label : t.host) })),
    dispatcher: masterDispatcher!,
    state,
    faults: state.faults,
    save: () => savePool(store.snapshot(), disks),
    close: async () => {
      state.life.closing = true
      store.notify()
      // Let answers already being written (event.from long-polls woken above) go out, so
      // clients see a clean end rather than ECONNRESET; uploads in flight are cut.
      for (let i = 0; i < 20 && listeners.some((l) => l.inflight() > 0); i++) await sleep(10)
      // Answers just written still need a moment to reach the client before the sockets go.
      await sleep(10)
      for (const l of listeners) l.server.closeIdleConnections()
      await Promise.all(
        listeners.map((l) => {
          l.server.closeAllConnections()
          return new Promise<void>((resolve) => l.server.close(() => resolve()))
        }),
      )
      disks.close()
    },
  }
}

function pick(opts: SimulatorOptions): { hostName?: string; localSrSize?: number } {
  return { ...(opts.hostName ? { hostName: opts.hostName } : {}), ...(opts.localSrSize ? { localSrSize: opts.localSrSize } : {}) }
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
