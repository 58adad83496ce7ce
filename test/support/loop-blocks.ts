import { readFileSync } from 'node:fs'

/**
 * CPU time this process's main thread has run, in ms: the first field of
 * /proc/self/task/<pid>/schedstat (the main thread's tid is the pid), the scheduler's own
 * count in ns. Not process.cpuUsage(): that sums every thread, worker threads included;
 * and not the utime of .../stat, counted in 10 ms ticks.
 */
export function mainThreadCpuMs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
}

export interface LoopBlocks {
  /** The longest time between two ticks, ms: a block, or the process waiting for a core on a loaded machine. */
  longestGapMs: number
  /** The most CPU the main thread used between two ticks, ms: how long this process's own code held the event loop. */
  longestBusyMs: number
}

/**
 * Watches the event loop with a timer every `everyMs`: how long the longest gap between
 * two ticks was, and how much of it the main thread spent running. On a loaded machine
 * (CI, other test files beside this one) a gap can last 100-200 ms while the process merely
 * waits for a core; the CPU used in the gap tells a block from that wait.
 */
export function watchLoopBlocks(everyMs = 10): { stop(): LoopBlocks } {
  let lastWall = performance.now()
  let lastCpu = mainThreadCpuMs()
  const seen: LoopBlocks = { longestGapMs: 0, longestBusyMs: 0 }
  const tick = setInterval(() => {
    const wall = performance.now()
    const cpu = mainThreadCpuMs()
    seen.longestGapMs = Math.max(seen.longestGapMs, wall - lastWall)
    seen.longestBusyMs = Math.max(seen.longestBusyMs, cpu - lastCpu)
    lastWall = wall
    lastCpu = cpu
  }, everyMs)
  return {
    stop: () => {
      clearInterval(tick)
      return { ...seen }
    },
  }
}
