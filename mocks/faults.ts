import { setTimeout as sleep } from 'node:timers/promises'
import { XapiFault } from './fault.js'
import { FaultActionSchema, FaultRuleSchema, type CallRule, type FaultAction, type FaultRule, type UploadRule } from './fault-rules.js'

export type { FaultRule, FaultAction } from './fault-rules.js'

interface Armed<R> {
  rule: R
  seen: number
  fired: number
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
    const rule = FaultRuleSchema.parse(input)
    if ('upload' in rule) this.uploads.push({ rule, seen: 0, fired: 0 })
    else this.calls.push({ rule, seen: 0, fired: 0 })
  }

  clear(): void {
    this.calls = []
    this.uploads = []
  }

  /** The armed rules with their counters, for GET /_sim/faults. */
  list(): (FaultRule & { seen: number; fired: number })[] {
    return [...this.calls, ...this.uploads].map(({ rule, seen, fired }) => ({ ...rule, seen, fired }))
  }

  /** Waits out matching delays, then throws the first matching injected error. */
  async before(method: string): Promise<void> {
    let delay = 0
    let error: XapiFault | undefined
    for (const a of this.calls) {
      const m = a.rule.method
      if (m !== '*' && m !== method && `Async.${m}` !== method) continue
      if (!fires(a)) continue
      if ('delayMs' in a.rule) delay += a.rule.delayMs
      else error ??= new XapiFault(a.rule.error[0], a.rule.error.slice(1))
    }
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
