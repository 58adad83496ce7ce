import { describe, expect, it } from 'vitest'
import { withSimulator, connectTo } from '../support/simulator.js'

describe('SESSION_INVALID with calls in flight', () => {
  it('calls made while the client logs in again wait for the new session instead of failing', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    // Slow logins widen the window in which xen-api has no session id at all.
    sim.faults.add({ method: 'session.login_with_password', delayMs: 200, times: 0 })
    sim.faults.expireSessions()
    const first = x.call<string[]>('VM.get_all')
    // Started once the first call has had its SESSION_INVALID and the new login is under way.
    await new Promise((r) => setTimeout(r, 50))
    const later = await Promise.all([x.call<string[]>('SR.get_all'), x.call<string[]>('network.get_all'), x.call<string>('pool.get_all')])
    expect((await first).length).toBeGreaterThan(0)
    for (const r of later) expect(r.length).toBeGreaterThan(0)
    expect(sim.calls().filter((m) => m === 'session.login_with_password')).toHaveLength(2)
  })
})
