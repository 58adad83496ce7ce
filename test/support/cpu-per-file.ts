import { appendFileSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { afterAll } from 'vitest'

/**
 * With XCP_TEST_CPU_LOG=<file> (vitest.config.ts adds this setup file then), one line
 * per test file: its CPU seconds, the worker's own and that of the processes it spawned
 * and waited for (the CLI, simulators, python, oracle tools), and its wall seconds,
 * from before its imports to after its last hook. The suite's time is CPU-bound on two
 * cores, so this is the figure to compare (docs/testing.md "Time"); wall time depends
 * on what else the machine runs.
 */
const HZ = 100 // USER_HZ: /proc's clock ticks, 100 on Linux for every architecture

/** utime, stime, cutime and cstime of this process, in seconds (proc(5), fields 14-17). */
function cpu(): { self: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number)
  // f[0] is field 3 (state): field n is f[n - 3].
  return { self: (f[11]! + f[12]!) / HZ, children: (f[13]! + f[14]!) / HZ }
}

/** Resources keeping this worker's event loop busy, by kind, e.g. { TCPServerWrap: 1 }. */
function leftovers(): Record<string, number> {
  const kinds: Record<string, number> = {}
  for (const k of process.getActiveResourcesInfo()) kinds[k] = (kinds[k] ?? 0) + 1
  return kinds
}

const log = process.env.XCP_TEST_CPU_LOG
const start = cpu()
const started = performance.now()
const startedAt = Date.now()

// vitest parses a hook's first parameter as fixtures: it must be a destructuring pattern.
afterAll(({}, suite) => {
  if (!log) return
  const end = cpu()
  const file = 'filepath' in suite ? suite.filepath : suite.file.filepath
  const row = {
    file: relative(process.cwd(), file),
    cpu: +(end.self - start.self + end.children - start.children).toFixed(2),
    children: +(end.children - start.children).toFixed(2),
    wall: +((performance.now() - started) / 1000).toFixed(2),
    // Which worker ran it and when (the suite reuses workers, isolate: false), and what
    // the file left behind in that worker: handles still open and heap still held.
    pid: process.pid,
    start: startedAt,
    left: leftovers(),
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  }
  appendFileSync(log, `${JSON.stringify(row)}\n`)
})
