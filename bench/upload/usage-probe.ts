/**
 * Preloaded into a measured Node process (`node --import <this> …`): on exit it writes
 * the process's own peak RSS and CPU time to $USAGE_PROBE_FILE. Exact, and needs no
 * GNU time on the machine. Used by the upload bench and the memory test.
 */
import { writeFileSync } from 'node:fs'

const out = process.env.USAGE_PROBE_FILE
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage()
    // maxRSS is in KiB; CPU times in microseconds.
    writeFileSync(out, JSON.stringify({ maxRssBytes: u.maxRSS * 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }))
  })
}
