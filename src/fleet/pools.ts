import { XapiError } from '../xapi/errors.js'
import { connect, type XapiConnection } from '../xapi/connection.js'
import type { Timeouts } from '../xapi/timeouts.js'
import { resolveTls } from '../xapi/tls.js'
import { UserError } from '../errors.js'
import { explainFailure } from '../provision/explain.js'
import { readHostReport, type HostReport } from '../provision/host-check.js'
import type { FleetPool } from './schema.js'
import { readInventory, type PoolInventory } from './inventory.js'
import { scoped, type RetryPolicy } from './scoped.js'
import type { ErrorInfo } from './types.js'

export interface OpenPool {
  name: string
  url: string
  x: XapiConnection
  inv: PoolInventory
  /** The release and capabilities of the master and of every host, read once (src/provision/host-check.ts). */
  hostReport: HostReport
  /** Calls made to log in and read the inventory. */
  calls: number
}

export interface FailedPool {
  name: string
  url: string
  error: ErrorInfo
}

export const toInfo = (e: unknown, context: string): ErrorInfo => {
  const i = explainFailure(context, e)
  return { ...(i.code ? { code: i.code } : {}), what: i.what, why: i.why, fix: i.fix, removed: [], kept: [] }
}

/**
 * Logs in to one pool with the credentials its environment variables hold, pins its
 * certificate when the fleet file gives a fingerprint, and reads its inventory and what
 * its hosts can run. A pool that fails here fails only its own VMs.
 */
export async function openPool(name: string, p: FleetPool, env: Record<string, string | undefined>, retry: RetryPolicy, timeouts?: Partial<Timeouts>): Promise<OpenPool | FailedPool> {
  const host = new URL(p.url).host
  const user = env[p.user_env]
  const password = env[p.password_env]
  if (!user || !password) {
    const missing = [!user && p.user_env, !password && p.password_env].filter(Boolean).join(' and ')
    return {
      name,
      url: p.url,
      error: {
        code: 'credentials-missing',
        what: `No credentials for pool ${name}`,
        why: `${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set`,
        fix: `set ${missing} in the environment or in ./.env`,
        removed: [],
        kept: [],
      },
    }
  }
  let x: XapiConnection
  try {
    const tls = await resolveTls(p.url, p.fingerprint ? { kind: 'pinned', fingerprint: p.fingerprint } : { kind: 'verify' }, timeouts?.connectMs)
    x = await connect({ url: p.url, user, password, tls, ...(timeouts ? { timeouts } : {}) })
  } catch (e) {
    const info = toInfo(e, `Login to ${host}`)
    // The fleet file names this pool's credential variables: the advice names them, not provision's.
    const refused = e instanceof XapiError && e.code === 'SESSION_AUTHENTICATION_FAILED'
    const fix = refused ? `check ${p.user_env} (user "${user}") and ${p.password_env}, the variables pools.${name} names in the fleet file (environment or ./.env)` : info.fix
    return { name, url: p.url, error: { ...info, fix, what: e instanceof UserError ? info.what : `Login to pool ${name} (${host}) failed` } }
  }
  try {
    const view = scoped(x, retry)
    const inv = await readInventory(view)
    // Every host: VMs go round-robin over them, and a rolling upgrade can leave them on two releases.
    const hostReport = await readHostReport(view, { hosts: Object.keys(inv.hosts) }, { pbds: inv.pbds, hosts: inv.hosts })
    return { name, url: p.url, x, inv, hostReport, calls: view.calls + 1 }
  } catch (e) {
    await x.close().catch(() => undefined)
    return { name, url: p.url, error: toInfo(e, `Reading pool ${name}`) }
  }
}
