import { setTimeout as sleep } from 'node:timers/promises'
import { XapiFault } from './fault.js'
import { Gate, type Hold } from './fault-hold.js'
import { FaultActionSchema, FaultRuleSchema, type CallRule, type FaultAction, type FaultRule, type UploadRule } from './fault-rules.js'

export type { FaultRule, FaultAction } from './fault-rules.js'
export type { Hold } from './fault-hold.js'

/** How long a held call waits at most when its rule gives no maxMs. */
const HOLD_MAX_MS = 60_000

interface Armed<R> {
  rule: R
  seen: number
  fired: number
  /** Hold rules only: where the held calls wait. */
  gate?: Gate
}

/** What the upload layer must do to the next PUT /import_raw_vdi. */
export type UploadFault = { kind: 'cut'; afterBytes: number } | { kind: 'http500' } | undefined

/**
 * Faults are rules in front of dispatch, never branches inside the class modules (msw's
 * use()/reset()): the dispatcher awaits before() ahead of each method body, and the
 * upload layer asks nextUpload() before handing a PUT to the import handler.
 */
export class Faults {
  private calls: Armed<CallRule>[] = []
  private uploads: Armed<UploadRule>[] = []

  /** `act` applies one-off actions to the simulated world (see control.ts). */
  constructor(private readonly act: (a: FaultAction) => void = () => undefined) {}

  /** A one-off action: { action: 'expire-sessions' | 'sr-full' | 'master-change', … }. */
  apply(input: FaultAction): void {
    this.act(FaultActionSchema.parse(input))
  }

  /** Every session becomes invalid; the next call with one answers SESSION_INVALID. */
  expireSessions(): void {
    this.apply({ action: 'expire-sessions' })
  }

  /** Shrinks an SR (ref, uuid or name) to what its VDIs use plus `freeBytes`. */
  fillSr(sr: string, freeBytes = 0): void {
    this.apply({ action: 'sr-full', sr, freeBytes })
  }

  /** Validates the rule (the same schema as the HTTP endpoint) and arms it. */
  add(input: FaultRule): void {
    this.arm(input)
  }

  /**
   * Stops the next call to `method` (or the `nth`, or `times` of them; 0 = every one) in
   * flight, until the returned handle's release():
   *   const h = sim.faults.hold('VM.start'); ...; await h.reached; ...; h.release()
   */
  hold(method: string, when: { nth?: number; times?: number; maxMs?: number } = {}): Hold {
    return this.arm({ method, hold: true, ...when }).gate!
  }

  /** Disarms every rule; calls held now go on. */
  clear(): void {
    const held = this.calls.map((a) => a.gate)
    this.calls = []
    this.uploads = []
    for (const g of held) g?.release()
  }

  private arm(input: FaultRule): Armed<CallRule | UploadRule> {
    const rule = FaultRuleSchema.parse(input)
    if ('upload' in rule) {
      const a = { rule, seen: 0, fired: 0 }
      this.uploads.push(a)
      return a
    }
    const a: Armed<CallRule> = { rule, seen: 0, fired: 0 }
    if ('hold' in rule) a.gate = new Gate(() => (this.calls = this.calls.filter((c) => c !== a)))
    this.calls.push(a)
    return a
  }

  /** The armed rules with their counters, for GET /_sim/faults. */
  list(): (FaultRule & { seen: number; fired: number; held?: number })[] {
    return [...this.calls, ...this.uploads].map(({ rule, seen, fired, gate }) => ({ ...rule, seen, fired, ...(gate ? { held: gate.held } : {}) }))
  }

  /** Waits for matching holds to be released, then out matching delays, then throws the first matching injected error. */
  async before(method: string): Promise<void> {
    let delay = 0
    let error: XapiFault | undefined
    const held: Promise<void>[] = []
    for (const a of this.calls) {
      const m = a.rule.method
      if (m !== '*' && m !== method && `Async.${m}` !== method) continue
      if (!fires(a)) continue
      if ('hold' in a.rule) held.push(a.gate!.wait(a.rule.maxMs ?? HOLD_MAX_MS))
      else if ('delayMs' in a.rule) delay += a.rule.delayMs
      else error ??= new XapiFault(a.rule.error[0], a.rule.error.slice(1))
    }
    if (held.length > 0) await Promise.all(held)
    if (delay > 0) await sleep(delay)
    if (error) throw error
  }

  nextUpload(): UploadFault {
    for (const a of this.uploads) {
      if (!fires(a)) continue
      return a.rule.upload === 'cut' ? { kind: 'cut', afterBytes: a.rule.afterBytes } : { kind: 'http500' }
    }
    return undefined
  }
}

function fires(a: Armed<CallRule | UploadRule>): boolean {
  a.seen++
  const times = a.rule.times ?? 1
  if (a.seen < (a.rule.nth ?? 1) || (times > 0 && a.fired >= times)) return false
  a.fired++
  return true
}
