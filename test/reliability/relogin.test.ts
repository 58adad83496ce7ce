import { describe, expect, it } from 'vitest'
import { setImmediate as turn } from 'node:timers/promises'
import { withSimulator, connectTo } from '../support/simulator.js'

describe('SESSION_INVALID with calls in flight', () => {
  it('calls made while the client logs in again wait for the new session instead of failing', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    // A held login keeps open the window in which xen-api has no session id at all.
    const relogin = sim.faults.hold('session.login_with_password')
    sim.faults.expireSessions()
    const first = x.call<string[]>('VM.get_all')
    // Started once the first call's SESSION_INVALID has led to a new login, which is now held.
    await relogin.reached
    const calls = Promise.all([x.call<string[]>('SR.get_all'), x.call<string[]>('network.get_all'), x.call<string>('pool.get_all')])
    // Let the client take them in (a turn of the event loop) before the login completes.
    await turn()
    await turn()
    relogin.release()
    const later = await calls
    expect((await first).length).toBeGreaterThan(0)
    for (const r of later) expect(r.length).toBeGreaterThan(0)
    expect(sim.calls().filter((m) => m === 'session.login_with_password')).toHaveLength(2)
  })

  it('when the new login fails, calls in that window fail at once with a plain error, without the session id', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const oldSession = x.sessionId
    const relogin = sim.faults.hold('session.login_with_password')
    sim.faults.add({ method: 'session.login_with_password', error: ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure'], times: 0 })
    sim.faults.expireSessions()
    const first = x.call('VM.get_all').catch((e: unknown) => e)
    await relogin.reached
    const t0 = Date.now()
    const pending = x.call('SR.get_all').catch((e: unknown) => e)
    await turn()
    relogin.release()
    const later = await pending
    expect(Date.now() - t0).toBeLessThan(5000)
    for (const e of [await first, later]) {
      expect(e).toBeInstanceOf(Error)
      expect((e as Error).name).not.toBe('AssertionError')
      expect(String((e as Error).message)).not.toContain(oldSession)
    }
  })
})
