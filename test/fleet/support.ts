import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeSampleImage } from '../../src/image/write-image.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import type { Simulator } from '../../mocks/simulator.js'
import { withSimulator } from '../support/simulator.js'
import { PoolSpec } from '../../mocks/inventory-file.js'

let image: Promise<string> | undefined

/**
 * One sample FreeBSD image per worker: writing it takes a moment and it never changes.
 * 16 MiB rather than the sample's 64: every rollout maps the image and hashes all of it,
 * holes included (src/fleet/image-hash.ts), and the fleet files run dozens of rollouts.
 */
export function sampleImage(): Promise<string> {
  image ??= (async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fleet-')), 'freebsd.img')
    await writeSampleImage(file, { diskSize: 16 * 1024 * 1024 })
    return file
  })()
  return image
}

/** The simulator's credentials; and, for a spawned CLI, the tests' image hash cache (vitest.config.ts), never ~/.cache. */
const cache: Record<string, string> = process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}
export const ENV = { SIM_USER: 'root', SIM_PASSWORD: 'simulator', ...cache }

/** Standalone hosts: each simulator is a pool of one, so a fleet over them spans pools. */
export async function hosts(n: number): Promise<Simulator[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => withSimulator({ hostName: `xcp${i + 1}` })))
}

/** One simulated pool of two hosts (xcp1, the master, and xcp2), each with its own Local storage. */
export async function twoHostPool(): Promise<Simulator> {
  return withSimulator({ pool: PoolSpec.parse({ hosts: [{ name: 'xcp1' }, { name: 'xcp2', address: '127.0.0.2' }] }) })
}

export async function fleetOn(sims: Simulator[], names: string | string[] = 'web-{01..20}', extra: Partial<FleetInput['groups'][number]> = {}): Promise<FleetInput> {
  const pools = Object.fromEntries(sims.map((s, i) => [`p${i + 1}`, { url: s.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' }]))
  return {
    name: 'web',
    pools,
    groups: [{ recipe: 'freebsd-9', image: await sampleImage(), pools: Object.keys(pools), names, ...extra }],
  }
}

/** RPCs that change nothing: logins, reads and event waits. */
export const isReadOnly = (m: string): boolean => /^(session\.|system\.listMethods$|event\.from$|[A-Za-z_]+\.get_)/.test(m)
