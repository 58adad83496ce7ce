import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

/** One spawned run: wall from just before spawn to its end; CPU (user + system) when it could be measured. */
export interface RunTiming {
  wallMs: number
  cpuMs: number | undefined
}

const GNU_TIME = '/usr/bin/time'

/**
 * Runs a command to its end. With GNU time (Debian's `time` package) the CPU figure is
 * the child's own rusage; without it only wall time is known.
 */
export function timeRun(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): RunTiming {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'))
  const out = join(dir, 'time')
  try {
    const gnu = existsSync(GNU_TIME)
    const t0 = performance.now()
    const r = gnu ? spawnSync(GNU_TIME, ['-f', '%U %S', '-o', out, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env }) : spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
    const wallMs = performance.now() - t0
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr.toString().slice(0, 400)}`)
    if (!gnu) return { wallMs, cpuMs: undefined }
    const [user = NaN, sys = NaN] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
    return { wallMs, cpuMs: (user + sys) * 1000 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** utime + stime of a live process from /proc (Linux; clock ticks of 1/CLK_TCK s). */
function liveCpuMs(pid: number, tick: number): number | undefined {
  try {
    // Fields after the ")" that ends the command name: state is 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / tick
  } catch {
    return undefined
  }
}

let clockTick: number | undefined
function ticksPerSecond(): number {
  if (clockTick === undefined) {
    try {
      clockTick = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
    } catch {
      clockTick = 100
    }
  }
  return clockTick
}

/**
 * Starts `cmd args` with `urlArg(url)` pointing at a throw-away HTTP server standing in for
 * XAPI, and returns how long after the spawn the first request arrived (and the child's CPU
 * until then). The child is killed there: what comes after the first request is not start-up.
 */
export async function timeToFirstRequest(cmd: string, args: (url: string) => string[], opts: { env: NodeJS.ProcessEnv; cwd: string }, limitMs = 30_000): Promise<RunTiming & { firstLine: string }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  try {
    const first = new Promise<{ at: number; req: IncomingMessage }>((resolve) => server.once('request', (req: IncomingMessage) => resolve({ at: performance.now(), req })))
    const t0 = performance.now()
    const child = spawn(cmd, args(url), { stdio: ['ignore', 'ignore', 'pipe'], ...opts })
    const pid = child.pid ?? 0
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<never>((_, reject) => child.once('exit', (code, sig) => reject(new Error(`the CLI ended (${code ?? sig}) before any request: ${stderr.slice(0, 600)}`))))
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no request within ${limitMs} ms`)), limitMs)))
    try {
      const { at, req } = await Promise.race([first, exited, limit])
      const cpuMs = liveCpuMs(pid, ticksPerSecond())
      req.socket.destroy()
      return { wallMs: at - t0, cpuMs, firstLine: `${req.method} ${req.url}` }
    } finally {
      clearTimeout(timer)
      exited.catch(() => undefined)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await new Promise((resolve) => child.once('exit', resolve))
      }
    }
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
