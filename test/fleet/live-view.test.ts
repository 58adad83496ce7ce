import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { rolloutView } from '../../src/fleet/cli/live-view.js'
import type { RolloutEvent } from '../../src/fleet/types.js'

function stream(tty: boolean, rows = 24): NodeJS.WriteStream & { text: string } {
  const s = { isTTY: tty, rows, columns: 100, text: '', write: (t: string) => ((s.text += t), true) }
  return s as unknown as NodeJS.WriteStream & { text: string }
}

const plan: RolloutEvent = {
  type: 'plan',
  vms: [
    { name: 'web-1', pool: 'p', host: 'xcp1', action: 'create' },
    { name: 'web-2', pool: 'p', host: 'xcp2', action: 'create' },
    { name: 'web-3', pool: 'p', host: 'xcp1', action: 'none' },
  ],
}
const error = { what: 'Start the VM failed', why: 'x', fix: 'y', removed: [], kept: [] }

describe('rollout progress', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('draws one line per VM on a terminal and redraws it in place', () => {
    const s = stream(true)
    const view = rolloutView(s)
    view.onEvent(plan)
    view.onEvent({ type: 'base', pool: 'p', sr: 'Local storage', phase: 'upload', sent: 50, total: 100 })
    view.onEvent({ type: 'vm-step', vm: 'web-1', step: 'vm.start', title: 'Start the VM' })
    view.onEvent({ type: 'vm-done', vm: 'web-2', state: 'failed', ms: 10, error })
    view.onEvent({ type: 'vm-done', vm: 'web-3', state: 'unchanged', ms: 0, error: null })
    vi.advanceTimersByTime(100)
    expect(s.text).toContain('base disk, pool p, SR "Local storage": upload 50%')
    expect(s.text).toContain('… web-1  p/xcp1    Start the VM')
    expect(s.text).toContain('✗ web-2  p/xcp2    failed: Start the VM failed')
    expect(s.text).toContain('✓ web-3  p/xcp1    unchanged')
    view.onEvent({ type: 'vm-done', vm: 'web-1', state: 'created', ms: 10, error: null })
    vi.advanceTimersByTime(100)
    // The second frame starts by moving up over the first (4 lines).
    const second = s.text.lastIndexOf('\x1b[4A')
    expect(second).toBeGreaterThan(0)
    expect(s.text.slice(second)).toContain('✓ web-1  p/xcp1    created')
  })

  it('erases its last frame at the end on a terminal: the summary table says how each VM ended, once', () => {
    const s = stream(true)
    const view = rolloutView(s)
    view.onEvent(plan)
    view.onEvent({ type: 'vm-done', vm: 'web-1', state: 'created', ms: 10, error: null })
    vi.advanceTimersByTime(100)
    const frame = s.text.length
    view.onEvent({ type: 'vm-done', vm: 'web-2', state: 'created', ms: 10, error: null })
    view.close()
    // Three VM lines up, each cleared, back up: nothing of the frame stays on the screen, and nothing new is drawn.
    expect(s.text.slice(frame)).toBe(`\x1b[3A${'\x1b[2K\n'.repeat(3)}\x1b[3A`)
    view.close()
    expect(s.text.length).toBe(frame + `\x1b[3A${'\x1b[2K\n'.repeat(3)}\x1b[3A`.length)
  })

  it('folds finished VMs into a count when they do not fit', () => {
    const s = stream(true, 6)
    const view = rolloutView(s)
    const vms = Array.from({ length: 10 }, (_, i) => ({ name: `vm-${i}`, pool: 'p', host: 'h', action: 'create' as const }))
    view.onEvent({ type: 'plan', vms })
    for (const v of vms.slice(0, 8)) view.onEvent({ type: 'vm-done', vm: v.name, state: 'created', ms: 1, error: null })
    vi.advanceTimersByTime(100)
    expect(s.text).toContain('8 of 10 VMs finished')
    expect(s.text).toContain('… vm-9')
    expect(s.text).not.toContain('✓ vm-0')
  })

  it("writes transitions as plain lines when not on a terminal (how a VM ended is the table's), and nothing with --json", () => {
    const s = stream(false)
    const view = rolloutView(s)
    view.onEvent(plan)
    for (const sent of [0, 30, 60, 100]) view.onEvent({ type: 'base', pool: 'p', sr: 'LS', phase: 'upload', sent, total: 100 })
    view.onEvent({ type: 'wave', wave: 1, phase: 'start', vms: ['web-1', 'web-2'] })
    view.onEvent({ type: 'vm-step', vm: 'web-1', step: 'disk', title: 'Clone the base disk' })
    view.onEvent({ type: 'vm-step', vm: 'web-1', step: 'vm', title: 'Clone the golden template' })
    view.onEvent({ type: 'vm-step', vm: 'web-2', step: 'disk', title: 'Clone the base disk' })
    view.onEvent({ type: 'vm-step', vm: 'web-1', step: 'wait', title: 'Wait for the guest' })
    view.onEvent({ type: 'vm-done', vm: 'web-2', state: 'failed', ms: 1500, error })
    view.onEvent({ type: 'retry', vm: 'web-1', method: 'VIF.create', code: 'TOO_MANY_PENDING_TASKS', attempt: 1 })
    view.onEvent({ type: 'vm-done', vm: 'web-1', state: 'created', ms: 1500, error: null })
    view.onEvent({ type: 'vm-done', vm: 'web-3', state: 'unchanged', ms: 0, error: null })
    view.onEvent({ type: 'wave', wave: 1, phase: 'failed', vms: ['web-1', 'web-2'] })
    view.close()
    expect(s.text.split('\n')).toEqual([
      'base disk on pool p, SR "LS": upload 0%',
      'base disk on pool p, SR "LS": upload 30%',
      'base disk on pool p, SR "LS": upload 60%',
      'base disk on pool p, SR "LS": upload 100%',
      'wave 1 (web-1 … web-2, 2 VMs): started',
      'web-1: started on p/xcp1',
      'web-2: started on p/xcp2',
      'web-1: waiting for the guest',
      'web-1: VIF.create answered TOO_MANY_PENDING_TASKS, retrying (attempt 2)',
      'wave 1 (web-1 … web-2, 2 VMs): failed; later waves are not started',
      '',
    ])
    const quiet = stream(false)
    rolloutView(quiet, true).onEvent(plan)
    expect(quiet.text).toBe('')
  })
})
