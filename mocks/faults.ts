import { XapiFault } from './fault.js'

/**
 * Faults are rules in front of dispatch, never branches inside the class modules:
 * "fail the Nth call of METHOD with ERROR". `nth` counts calls of that method made
 * after the rule was added (1 = the next one); `times` bounds how often it fires.
 */
export interface FaultRule {
  method: string
  error: [code: string, ...params: string[]]
  nth?: number
  times?: number
}

export class Faults {
  private rules: (FaultRule & { seen: number; fired: number })[] = []

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, seen: 0, fired: 0 })
  }

  clear(): void {
    this.rules = []
  }

  /** Throws the injected error when a rule matches this call. */
  check(method: string): void {
    for (const r of this.rules) {
      if (r.method !== method && `Async.${r.method}` !== method) continue
      r.seen++
      if (r.seen < (r.nth ?? 1) || r.fired >= (r.times ?? 1)) continue
      r.fired++
      const [code, ...params] = r.error
      throw new XapiFault(code, params)
    }
  }
}
