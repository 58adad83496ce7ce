/**
 * A hold rule's gate: the calls it stops wait here until the test lets them go. `reached`
 * tells the test that a call is now in flight and stopped (msw's "respond when I say",
 * moto's `manual` state transition), so a test waits for that moment instead of
 * sleeping past a guessed delay.
 */
export interface Hold {
  /** Resolves once a matching call is waiting. */
  readonly reached: Promise<void>
  /** How many calls are waiting now. */
  readonly held: number
  /** Lets the waiting calls go on; the rule is disarmed, so later calls pass too. */
  release(): void
}

export class Gate implements Hold {
  readonly reached: Promise<void>
  private onReached: () => void = () => undefined
  private waiting = new Set<() => void>()
  private open = false

  constructor(private readonly onRelease: () => void = () => undefined) {
    this.reached = new Promise((resolve) => (this.onReached = resolve))
  }

  get held(): number {
    return this.waiting.size
  }

  /** Waits until release(), or `maxMs` at most: a forgotten hold must not wedge the server. */
  wait(maxMs: number): Promise<void> {
    if (this.open) return Promise.resolve()
    return new Promise((resolve) => {
      const go = (): void => {
        clearTimeout(timer)
        this.waiting.delete(go)
        resolve()
      }
      const timer = setTimeout(go, maxMs).unref()
      this.waiting.add(go)
      this.onReached()
    })
  }

  release(): void {
    this.open = true
    for (const go of [...this.waiting]) go()
    this.onRelease()
  }
}
