import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { count, guests, killWhen, sampleImage, simEnv } from './kill-support.js'

/**
 * kill9.test.ts waits for the held call to finish before the re-run. Here the same
 * command runs at once, while XAPI still runs what the killed client asked for: the
 * re-run must wait for it (or cancel it), then clean up and provision.
 */
describe('kill -9, then the same command at once', () => {
  it('killed during VM.start: the re-run cancels the start it left, removes its leftovers and makes exactly one VM', async () => {
    const sim = await withSimulator()
    const image = await sampleImage()
    const vdisBefore = count(sim, 'VDI')
    // The start runs on after the kill, as on a host, until the re-run cancels it (20 s at most, so a regression fails rather than hangs).
    const hold = sim.faults.hold('VM.start')
    const first = await killWhen(sim, ['freebsd-9', '--image', image], hold.reached)
    expect(first.killed, first.stderr).toBe(true)
    // No wait: the held VM.start is still in the VM's current_operations.
    const busy = guests(sim).filter((v) => Object.values(v.current_operations as Record<string, string>).includes('start'))
    expect(busy).toHaveLength(1)
    const startTask = Object.keys(busy[0]!.current_operations as Record<string, string>)[0]!
    const released = (async () => {
      for (let i = 0; i < 2000 && sim.objects().task?.[startTask]?.status !== 'cancelling'; i++) await sleep(10)
      hold.release()
    })()
    const again = await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--json'], simEnv(sim))
    await released
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/is still in "start" \(task OpaqueRef:[^)]+\), started by an interrupted run: cancelled it/)
    expect(again.stderr).toContain('removed what an interrupted earlier run left')
    expect(guests(sim).map((v) => [v.name_label, v.power_state])).toEqual([['FreeBSD-9.0', 'Running']])
    expect(count(sim, 'VDI') - vdisBefore).toBe(1)
    expect(count(sim, 'VBD')).toBe(1)
    expect(count(sim, 'VIF')).toBe(1)
    const tasks = Object.values(sim.objects().task ?? {})
    // The start's task was cancelled and then destroyed; only the killed run's finished clone/provision tasks may remain.
    expect(tasks.filter((t) => t.status === 'pending' || t.name_label === 'Async.VM.start')).toEqual([])
  })
})
