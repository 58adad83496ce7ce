import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { type ProcessResult, runProcess } from '../../bench/support/run-process.js'

export const BIN = fileURLToPath(new URL('../../bin/provision.js', import.meta.url))

export type CliResult = ProcessResult

/** Runs the built CLI as a user would: a real process, real arguments, real exit code. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...runDirs(), ...env }, ...(cwd ? { cwd } : {}) })
}

/**
 * TMPDIR and XDG_CACHE_HOME as vitest.config.ts set them, for a process a test starts:
 * its spools, simulator disks and the fleet's hash cache stay in the run's directory,
 * never /tmp's top or the user's ~/.cache. A test's own env wins.
 */
export function runDirs(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of ['TMPDIR', 'XDG_CACHE_HOME'] as const) if (process.env[k]) out[k] = process.env[k]
  return out
}

export interface SpawnedSimulator {
  url: string
  /** Lines printed after the first (one per host with --inventory). */
  more: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** `provision sim` in its own process; resolves once its first line gives the URL. */
export function spawnSimulator(env: Record<string, string> = {}, args: string[] = []): Promise<SpawnedSimulator> {
  return new Promise((resolve, reject) => {
    // XCP-ng 8.2 unless the test picks a profile: the suite's PV recipe needs a release that runs PV.
    const profile = args.includes('--profile') || args.includes('--inventory') ? [] : ['--profile', 'xcp-ng-8.2']
    const child = spawn(process.execPath, [BIN, 'sim', '--port', '0', ...profile, ...args], {
      env: { PATH: process.env.PATH ?? '', ...runDirs(), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: child.stdout })
    const timer = setTimeout(() => reject(new Error('simulator did not start within 20 s')), 20_000)
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`simulator exited early with ${code}`)))
    const more: string[] = []
    lines.once('line', (line) => {
      clearTimeout(timer)
      const m = /^XAPI simulator listening on (http:\/\/\S+)$/.exec(line)
      if (!m) return reject(new Error(`unexpected first line: ${line}`))
      lines.on('line', (l) => more.push(l))
      resolve({
        url: `${m[1]}/`,
        more,
        stop: (signal = 'SIGTERM') =>
          new Promise((res) => {
            child.removeAllListeners('exit')
            child.once('exit', (code) => res(code))
            child.kill(signal)
          }),
      })
    })
  })
}
