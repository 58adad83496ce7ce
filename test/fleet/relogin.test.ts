import { describe, expect, it } from 'vitest'
import { rollout } from '../../src/fleet/rollout.js'
import { fleetOn, hosts, ENV } from './support.js'

const SEGMENT = 128 * 1024

describe('a base upload when XAPI invalidates the session midway', () => {
  it('logs in again and sends the rest with the new session, not the dead one', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    let expired = false
    const r = await rollout({
      fleet,
      env: ENV,
      // Several segments, so there are PUTs after the expiry; a dead session would fail every retry with 401.
      upload: { segmentBytes: SEGMENT, retry: { retries: 2, minTimeoutMs: 10, maxTimeoutMs: 50 } },
      onEvent: (e) => {
        if (e.type === 'base' && e.phase === 'upload' && e.sent >= SEGMENT && !expired) {
          expired = true
          sim!.faults.expireSessions()
        }
      },
    })
    expect(expired).toBe(true)
    expect(r.bases.map((b) => [b.state, b.error?.why ?? null])).toEqual([['ready', null]])
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'created'])
    expect(sim!.calls().filter((m) => m === 'session.login_with_password').length).toBeGreaterThanOrEqual(2)
  })
})
