import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { type ProcessResult, runProcess } from '../support/run-process.js'

export interface Measured extends ProcessResult {
  wallMs: number
  /** user + system; undefined when the platform cannot tell. */
  cpuMs?: number
  /** CPU of the children a Node command waited for (xz, helpers); Linux only. */
  childCpuMs?: number
  maxRssBytes?: number
}

const PROBE = new URL('./usage-probe.js', import.meta.url).href
const GNU_TIME = '/usr/bin/time'

/**
 * Runs a command to completion and measures it. A Node command reports its own peak RSS
 * and CPU time through the usage probe; any other command runs under GNU time when the
 * machine has it (`%M` is its peak RSS in KiB).
 */
export async function measure(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Measured> {
  const usageFile = join(tmpdir(), `usage-${process.pid}-${Math.random().toString(36).slice(2)}.json`)
  const node = cmd === process.execPath
  const timed = !node && existsSync(GNU_TIME)
  const [file, argv] = node ? [cmd, ['--import', PROBE, ...args]] : timed ? [GNU_TIME, ['-f', '%U %S %M', '-o', usageFile, cmd, ...args]] : [cmd, args]
  const t0 = performance.now()
  const r = await runProcess(file, argv, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', USAGE_PROBE_FILE: usageFile, ...env } })
  const wallMs = performance.now() - t0
  const usage = await readFile(usageFile, 'utf8').catch(() => undefined)
  await rm(usageFile, { force: true })
  if (!usage) return { ...r, wallMs }
  if (node) {
    const u = JSON.parse(usage) as { cpuMs: number; maxRssBytes: number; childCpuMs?: number }
    return { ...r, wallMs, ...u }
  }
  const [user = 0, sys = 0, rssKiB = 0] = usage.trim().split(/\s+/).slice(-3).map(Number)
  return { ...r, wallMs, cpuMs: (user + sys) * 1000, maxRssBytes: rssKiB * 1024 }
}

export const probePath = (): string => fileURLToPath(PROBE)
