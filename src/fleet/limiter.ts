/**
 * Counting semaphores keyed by name: "total" for the whole rollout, "host:<pool>/<ref>"
 * per host, "clone:<ref>" (limit 1) per base VDI. A few lines instead of a
 * dependency, and FIFO, so VMs start in the order of the fleet file.
 */
export class Semaphore {
  private active = 0
  private queue: (() => void)[] = []
  constructor(readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve))
    else this.active++
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.queue.shift()
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next()
      else this.active--
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }
}

export class Limits {
  private sems = new Map<string, Semaphore>()

  get(key: string, limit: number): Semaphore {
    let s = this.sems.get(key)
    if (!s) this.sems.set(key, (s = new Semaphore(limit)))
    return s
  }

  /**
   * Holds every semaphore, always in the order given, so two jobs never wait on each other
   * crosswise. `fn` may give them back early (release); each is released once either way.
   */
  async runAll<T>(slots: readonly [key: string, limit: number][], fn: (release: () => void) => Promise<T>): Promise<T> {
    const releases: (() => void)[] = []
    const release = (): void => {
      for (const r of releases.reverse().splice(0)) r()
    }
    try {
      for (const [key, limit] of slots) releases.push(await this.get(key, limit).acquire())
      return await fn(release)
    } finally {
      release()
    }
  }
}

/** Runs a promise-returning function once per key; later callers get the same promise. */
export class Once<T> {
  private map = new Map<string, Promise<T>>()
  run(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.map.get(key)
    if (!p) this.map.set(key, (p = fn()))
    return p
  }
}
