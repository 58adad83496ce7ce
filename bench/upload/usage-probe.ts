/**
 * Preloaded into a measured Node process (`node --import <this> …`): on exit it writes
 * the process's own peak RSS and CPU time to $USAGE_PROBE_FILE. Exact, and needs no
 * GNU time on the machine. Used by the upload bench and the memory test.
 *
 * The peak comes from VmHWM in /proc/self/status where there is one: getrusage's
 * maxrss survives exec on Linux, so a child spawned by a big parent (a test worker
 * holding images in memory) would report the parent's size, not its own.
 */
import { readFileSync, writeFileSync } from 'node:fs'

function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) * 1024
  } catch {
    // Not Linux: getrusage's figure, in KiB.
  }
  return process.resourceUsage().maxRSS * 1024
}

/** CPU of the children it waited for (xz, helpers), from /proc/self/stat's cutime + cstime (clock ticks, 100 a second); undefined elsewhere. */
function childCpuMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ')
    return (Number(fields[13]) + Number(fields[14])) * 10
  } catch {
    return undefined
  }
}

const out = process.env.USAGE_PROBE_FILE
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage()
    // CPU times are in microseconds.
    writeFileSync(out, JSON.stringify({ maxRssBytes: peakRss(), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, childCpuMs: childCpuMs() }))
  })
}
