import { startSimulator, type Simulator } from '../../mocks/simulator.js'
import { startInventory } from '../../mocks/pools.js'
import { loadInventoryFile, InventoryError } from '../../mocks/inventory-file.js'
import { readStateFile, writeStateFile, StateFileError, type SavedPool } from '../../mocks/state-file.js'
import { UserError, EXIT } from '../errors.js'
import { PROFILE_NAMES } from '../../mocks/profiles.js'
import { resolveCredentials, type ResolvedCredentials } from './credentials.js'
import { DEFAULT_CREDENTIALS } from '../../mocks/simulator.js'

export interface SimArgs {
  port?: string | undefined
  listen?: string | undefined
  inventory?: string | undefined
  stateFile?: string | undefined
  /** The simulated release (mocks/profiles.ts); default xcp-ng-8.3. */
  profile?: string | undefined
}

/**
 * `provision sim`: the standalone simulator. Its first stdout line is the contract
 * scripts wait for: "XAPI simulator listening on http://ADDR:PORT" (the first pool's
 * master); with --inventory one more line per host follows, then one naming the control
 * API (/_sim/, HTTP Basic with the XAPI credentials). With --state-file the
 * objects are read at start when the file exists, rewritten every few seconds while
 * they change, and written back on SIGINT/SIGTERM.
 */
export async function runSimulator(args: SimArgs): Promise<number> {
  const port = args.port === undefined ? 0 : Number(args.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError({ what: `--port ${args.port} is not a port`, why: 'a port is a whole number from 0 to 65535', fix: 'pass e.g. --port 8080 (0 picks a free one)', exitCode: EXIT.usage })
  }
  if (args.inventory && args.listen) {
    throw new UserError({ what: '--listen and --inventory together', why: 'an inventory gives each host its own address', fix: 'set the addresses in the inventory file', exitCode: EXIT.usage })
  }
  if (args.profile !== undefined && !PROFILE_NAMES.includes(args.profile)) {
    throw new UserError({
      what: `No simulator profile "${args.profile}"`,
      why: `profiles: ${PROFILE_NAMES.join(', ')}`,
      fix: 'pass --profile with one of those (default xcp-ng-8.3)',
      exitCode: EXIT.usage,
    })
  }
  if (args.profile !== undefined && args.inventory) {
    throw new UserError({ what: '--profile and --inventory together', why: 'an inventory names its release with profile:', fix: 'set profile: in the inventory file', exitCode: EXIT.usage })
  }
  const saved = args.stateFile ? guard(() => readStateFile(args.stateFile!)) : undefined
  const inventory = args.inventory ? guard(() => loadInventoryFile(args.inventory!)) : undefined
  // One rule with provision's (credentials.ts): XAPI_USER / XAPI_PASSWORD, else the inventory's, else the simulator's own.
  const fallback = inventory?.credentials ? { ...inventory.credentials, from: `the inventory file ${args.inventory}` } : { ...DEFAULT_CREDENTIALS, from: "the simulator's default" }
  const creds = await resolveCredentials({ fallback, prompt: false })
  const sims = await listening(port, args.listen, () =>
    inventory
      ? startInventory({ ...inventory, credentials: { user: creds.user, password: creds.password } }, { port, ...(saved ? { restore: saved.pools } : {}) })
      : single(port, args.listen, saved?.pools[0], args.profile, creds).then((s) => [s]),
  )
  // Listen for the signals before announcing the URL: a script may send SIGINT as soon as
  // it reads the line, and a signal with no listener yet kills the process outright.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  process.stdout.write(`XAPI simulator listening on ${sims[0]!.url.replace(/\/$/, '')}\n`)
  if (args.inventory) {
    for (const sim of sims) {
      for (const h of sim.hosts) {
        const role = h.ref === sim.inventory.host ? 'master' : 'member'
        process.stdout.write(`  ${h.name} ${h.url.replace(/\/$/, '')} (${role})\n`)
      }
    }
  }
  // The control API takes the XAPI credentials as HTTP Basic; the password is never printed.
  process.stdout.write(`  credentials: ${creds.source}\n`)
  process.stdout.write(`  control API ${sims[0]!.url}_sim/ (HTTP Basic: user ${sims[0]!.credentials.user} and the XAPI password)\n`)
  const saver = args.stateFile ? periodicSave(args.stateFile, sims) : undefined
  await stopped
  saver?.stop()
  if (args.stateFile)
    writeStateFile(
      args.stateFile,
      sims.map((s) => s.save()),
    )
  await Promise.all(sims.map((s) => s.close()))
  return 0
}

/** How often --state-file is rewritten while the objects change: a crash loses at most this much. */
const SAVE_EVERY_MS = 5000

/**
 * Rewrites the state file whenever the objects changed since the last write, so a
 * simulator killed without a signal it can catch (SIGKILL, OOM, a crash) still leaves
 * its world behind. A failed write is reported once and retried; it never stops the simulator.
 */
function periodicSave(path: string, sims: Simulator[]): { stop(): void } {
  const generation = (): number => sims.reduce((n, s) => n + s.state.store.generation, 0)
  let saved = generation()
  let warned = false
  const timer = setInterval(() => {
    const now = generation()
    if (now === saved) return
    try {
      writeStateFile(
        path,
        sims.map((s) => s.save()),
      )
      saved = now
    } catch (e) {
      if (!warned) process.stderr.write(`warning: could not save the state file ${path}: ${(e as Error).message}; retrying every ${SAVE_EVERY_MS / 1000} s\n`)
      warned = true
    }
  }, SAVE_EVERY_MS)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

function single(port: number, listen: string | undefined, restore: SavedPool | undefined, profile: string | undefined, creds: ResolvedCredentials): Promise<Simulator> {
  return startSimulator({
    port,
    listen: listen ?? '127.0.0.1',
    credentials: { user: creds.user, password: creds.password },
    ...(restore ? { restore } : {}),
    ...(profile ? { profile } : {}),
  })
}

/** A port or address the system will not give is the user's to change, not a crash. */
async function listening<T>(port: number, listen: string | undefined, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') {
      throw new UserError(
        {
          what: `Port ${port} is in use`,
          why: 'another process (another simulator?) listens on it',
          fix: 'pass another --port, or --port 0 to take a free one; ss -ltnp shows who holds it',
          code: 'port-in-use',
        },
        { cause: e },
      )
    }
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new UserError(
        {
          what: `Cannot listen on ${listen ?? '127.0.0.1'}:${port}`,
          why: code === 'EACCES' ? 'ports below 1024 need privileges' : "that address is not one of this machine's",
          fix: 'pass --port 1024 or above, and a --listen address of this machine (127.0.0.1, 0.0.0.0)',
          code: 'bad-argument',
        },
        { cause: e },
      )
    }
    throw e
  }
}

/** Inventory and state-file problems are the user's to fix: usage errors, not crashes. */
function guard<T>(read: () => T): T {
  try {
    return read()
  } catch (e) {
    if (!(e instanceof InventoryError || e instanceof StateFileError)) throw e
    const inventory = e instanceof InventoryError
    throw new UserError({
      what: inventory ? 'Bad inventory file' : 'Bad state file',
      why: e.message,
      fix: inventory ? 'see docs/simulator.md (example: docs/examples/pool.yaml)' : 'delete the state file (or pass another --state-file) to start afresh; docs/simulator.md describes it',
      code: inventory ? 'inventory-invalid' : 'state-file-invalid',
    })
  }
}
