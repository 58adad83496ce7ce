import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Store } from './store.js'
import { createDispatcher, type Dispatcher } from './dispatch.js'
import { createDefaultInventory, type Inventory } from './inventory.js'
import type { Credentials, PygrubFlavour, SimState } from './state.js'
import type { XRecord } from './datamodel/model.js'
import { handleXmlRpc } from './http/rpc.js'
import { handleImportRawVdi } from './http/import-raw-vdi.js'
import { handleExportRawVdi } from './http/export-raw-vdi.js'
import { Faults } from './faults.js'

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /** Default 127.0.0.1. */
  listen?: string
  credentials?: Credentials
  pygrub?: PygrubFlavour
  hostName?: string
  localSrSize?: number
}

export interface Simulator {
  /** http://ADDR:PORT/ */
  url: string
  credentials: Credentials
  inventory: Inventory
  /** The database, for assertions: records keyed by class then ref. */
  objects(): Record<string, Record<string, XRecord>>
  /** VDI contents by ref, for assertions on what was uploaded. */
  readVdi(ref: string, offset?: number, length?: number): Buffer
  /** Every RPC method received, in order. */
  calls(): string[]
  dispatcher: Dispatcher
  state: SimState
  /** Inject failures: sim.faults.add({ method: 'VIF.create', error: ['INTERNAL_ERROR', 'boom'] }). */
  faults: Faults
  close(): Promise<void>
}

export const DEFAULT_CREDENTIALS: Credentials = { user: 'root', password: 'simulator' }

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const store = new Store()
  const listen = opts.listen ?? '127.0.0.1'
  const inventory = createDefaultInventory(store, {
    ...(opts.hostName ? { hostName: opts.hostName } : {}),
    address: listen,
    ...(opts.localSrSize ? { localSrSize: opts.localSrSize } : {}),
  })
  const state: SimState = {
    store,
    credentials: opts.credentials ?? DEFAULT_CREDENTIALS,
    pool: inventory.pool,
    host: inventory.host,
    disks: new Map(),
    pygrub: opts.pygrub ?? 'upstream',
    callLog: [],
    closing: false,
    lastDomid: 0,
    faults: new Faults(),
  }
  const dispatcher = createDispatcher(state)
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://sim').pathname.replace(/\/+$/, '') || '/'
    const route = `${req.method} ${path}`
    const done = (p: Promise<void> | void): void => {
      Promise.resolve(p).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/html' })
        res.end(`<html><body><h1>HTTP 500</h1>${String((err as Error)?.message ?? err).replace(/[<>&]/g, '')}</body></html>`)
      })
    }
    if (route === 'POST /' || route === 'POST /RPC2' || route === 'POST /xmlrpc' || route === 'POST /json') {
      return done(handleXmlRpc(req, res, dispatcher))
    }
    if (route === 'PUT /import_raw_vdi') return done(handleImportRawVdi(req, res, state))
    if (route === 'GET /export_raw_vdi') return done(handleExportRawVdi(req, res, state))
    res.writeHead(404, { 'content-type': 'text/html' })
    res.end('<html><body><h1>HTTP 404</h1></body></html>')
    req.resume()
  })
  // Long event.from polls must not be cut by Node's default request timeouts.
  server.requestTimeout = 0
  server.keepAliveTimeout = 5000
  await listenOn(server, opts.port ?? 0, listen)
  const { port } = server.address() as AddressInfo
  const host = listen.includes(':') ? `[${listen}]` : listen
  return {
    url: `http://${host}:${port}/`,
    credentials: state.credentials,
    inventory,
    objects: () => store.snapshot(),
    readVdi: (ref, offset = 0, length) => {
      const disk = state.disks.get(ref)
      if (!disk) throw new Error(`no VDI ${ref}`)
      return disk.read(offset, length ?? disk.size - offset)
    },
    calls: () => state.callLog.map((c) => c.method),
    dispatcher,
    state,
    faults: state.faults,
    close: async () => {
      state.closing = true
      store.notify()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
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
