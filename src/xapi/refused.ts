import { setTimeout as sleep } from 'node:timers/promises'

/**
 * How long calls wait out a host that refuses connections after it was answering:
 * xe-toolstack-restart takes xapi down for 10 to 30 s, longer on a big pool; 90 s
 * covers that with room, and a host that stays down still ends the run.
 */
export const REFUSED_RIDE_OUT_MS = 90_000

const DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000]

const isRefused = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 'ECONNREFUSED'

/**
 * One call's patience with refused connections. A refused connection carried nothing,
 * so making the call again is safe whatever the call (a create too): XAPI never saw
 * it. Only after the login: at login a refusal means a wrong host or port, said at once.
 */
export class RefusedWindow {
  private since: number | undefined
  private tries = 0

  constructor(private readonly limitMs = REFUSED_RIDE_OUT_MS) {}

  /** Waits a little and returns true when `e` is a refusal still worth waiting out. */
  async wait(e: unknown): Promise<boolean> {
    if (!isRefused(e)) return false
    this.since ??= Date.now()
    if (Date.now() - this.since >= this.limitMs) return false
    await sleep(DELAYS_MS[Math.min(this.tries++, DELAYS_MS.length - 1)]!)
    return true
  }
}
