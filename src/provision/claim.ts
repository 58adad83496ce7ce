import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import type { XapiConnection } from '../xapi/connection.js'
import * as POOL from '../xapi/pool.js'
import { hasCode } from '../xapi/errors.js'
import { UserError, EXIT } from '../errors.js'
import { isProcessAlive } from './process-alive.js'

/**
 * One run per VM name at a time, pool-wide: before its first change a run adds
 * `xcp-provision:claim:<sha256 of the name>` to the pool's other_config, which XAPI does
 * atomically (add_to_other_config fails with MAP_DUPLICATE_KEY when the key is there),
 * and removes it at the end. Without it, two runs of one name would both pass the
 * "name is free" check, adopt each other's half-uploaded VDI and make two VMs.
 *
 * A claim whose owner was killed stays behind. It is taken over, with a message, when
 * its process is gone (same machine: hostname and boot id match) or it is older than
 * `staleMs`; otherwise the run waits for it, at most `waitMs`, saying so.
 */
export const CLAIM_PREFIX = 'xcp-provision:claim:'
export const CLAIM_WAIT_MS = 10 * 60_000
/** Longer than any provision runs; a claim this old was left by a run killed on another machine. */
export const CLAIM_STALE_MS = 12 * 3600_000

/** Hashed: a key must be the same for any name, control characters included. */
export const claimKey = (vmName: string): string => CLAIM_PREFIX + createHash('sha256').update(vmName).digest('hex').slice(0, 32)

const Holder = z.object({ v: z.literal(1), pid: z.number().int(), host: z.string(), boot: z.string(), since: z.string(), id: z.string() }).strict()
type Holder = z.infer<typeof Holder>

export interface ClaimOptions {
  waitMs?: number
  staleMs?: number
  pollMs?: number
  reportEveryMs?: number
  onWait?: (message: string) => void
  signal?: AbortSignal | undefined
  /**
   * What this run will do with the name: a destroy waits for (or is refused by) a run
   * that holds it, so it never removes a VM that run is still making or changing.
   */
  purpose?: 'provision' | 'destroy'
}

/** The words a waiting run uses; the holder may be a provision or a destroy, so a destroy's say neither. */
function wording(purpose: ClaimOptions['purpose'], vmName: string): { holds: string; waits: string; risk: string } {
  if (purpose === 'destroy') return { holds: `another run holds "${vmName}"`, waits: 'destroy is waiting', risk: '; destroying meanwhile could remove a VM that run is still making or changing' }
  return { holds: `another run is provisioning "${vmName}"`, waits: 'waiting', risk: '' }
}

export interface Claim {
  key: string
  /** Removes the claim if it is still this run's; never fails the run. */
  release(): Promise<void>
}

/** Claims this process holds: a dead process's claim can carry our pid after a reuse. */
const held = new Set<string>()

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

const describe = (h: Holder): string => `process ${h.pid} on ${h.host}, since ${h.since}`

/** Why a claim may be taken over, or undefined while its owner may still be running. */
function staleness(text: string, staleMs: number, me: { host: string; boot: string }): string | undefined {
  let h: Holder
  try {
    h = Holder.parse(JSON.parse(text))
  } catch {
    return 'it is not a claim this program wrote'
  }
  const here = h.host === me.host && h.boot === me.boot && me.boot !== ''
  if (here && (h.pid === process.pid ? !held.has(h.id) : !isProcessAlive(h.pid))) return `its owner, ${describe(h)}, is gone`
  const age = Date.now() - Date.parse(h.since)
  if (!(age < staleMs)) return `it was made by ${describe(h)}, ${Math.round(age / 60_000)} min ago, longer than any run lasts`
  return undefined
}

export async function claimName(x: XapiConnection, vmName: string, o: ClaimOptions = {}): Promise<Claim> {
  const waitMs = o.waitMs ?? CLAIM_WAIT_MS
  const staleMs = o.staleMs ?? CLAIM_STALE_MS
  const reportEvery = o.reportEveryMs ?? 10_000
  // The pool the login read (connection.ts): a pool's ref never changes.
  const pool = x.pool.ref
  const key = claimKey(vmName)
  const me = { host: hostname(), boot: bootId() }
  const mine: Holder = { v: 1, pid: process.pid, ...me, since: new Date().toISOString(), id: randomUUID() }
  const value = JSON.stringify(mine)
  const started = Date.now()
  let lastReport = 0
  for (;;) {
    if (o.signal?.aborted)
      throw new UserError({ what: 'Interrupted', why: `stopped by a signal while waiting for another run of "${vmName}"`, fix: 'run the same command again when ready', exitCode: EXIT.interrupted })
    try {
      held.add(mine.id)
      await POOL.add_to_other_config(x, pool, key, value)
      return { key, release: () => release(x, pool, key, value, mine.id) }
    } catch (e) {
      held.delete(mine.id)
      // Writing the pool's other-config takes pool-operator (RBAC): a vm-admin still provisions, unserialised, and is told.
      if (hasCode(e, 'RBAC_PERMISSION_DENIED')) {
        o.onWait?.(
          `could not claim "${vmName}" on the pool (RBAC_PERMISSION_DENIED: this account may not write the pool's other-config): a second run of this name at the same time would not be stopped`,
        )
        return { key, release: async () => undefined }
      }
      if (!hasCode(e, 'MAP_DUPLICATE_KEY')) throw e
    }
    const theirs = (await POOL.get_other_config(x, pool))[key]
    if (theirs === undefined) continue // released meanwhile
    const stale = staleness(theirs, staleMs, me)
    if (stale) {
      // Removed only if it is still that claim: another run may have taken it over meanwhile.
      if ((await POOL.get_other_config(x, pool))[key] === theirs) await POOL.remove_from_other_config(x, pool, key)
      o.onWait?.(`took over the claim on "${vmName}" (pool other-config ${key}): ${stale}`)
      continue
    }
    const waited = Date.now() - started
    const holder = Holder.parse(JSON.parse(theirs))
    const words = wording(o.purpose, vmName)
    if (waited >= waitMs) {
      throw new UserError({
        code: 'name-taken',
        what: words.holds.replace(/^a/, 'A'),
        why: `${describe(holder)} holds the claim on that name (pool other-config ${key}); waited ${Math.round(waited / 1000)} s for it to end${words.risk}`,
        fix: `wait for that run to end, then run the same command again; if it is gone, remove its claim: xe pool-param-remove uuid=<pool uuid> param-name=other-config param-key=${key}`,
      })
    }
    if (lastReport === 0 || Date.now() - lastReport >= reportEvery) {
      o.onWait?.(
        lastReport === 0
          ? `${words.holds} (${describe(holder)}): ${words.waits} up to ${Math.round(waitMs / 1000)} s for it to end`
          : `still waiting for the other run of "${vmName}": ${Math.round(waited / 1000)} s of at most ${Math.round(waitMs / 1000)} s`,
      )
      lastReport = Date.now()
    }
    await sleep(Math.min(o.pollMs ?? 500, Math.max(1, waitMs - waited)), undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined)
  }
}

async function release(x: XapiConnection, pool: string, key: string, value: string, id: string): Promise<void> {
  held.delete(id)
  try {
    if ((await POOL.get_other_config(x, pool))[key] === value) await POOL.remove_from_other_config(x, pool, key)
  } catch {
    // The connection may be gone; the next run of this name takes a dead owner's claim over.
  }
}
