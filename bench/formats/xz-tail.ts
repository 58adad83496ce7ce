/**
 * What a provision of an xz image costs after xz is done: the run's wall time, when its
 * xz child exited, and the tail between. On 2 shared cores `xz -dc` itself varies by 2x
 * from one minute to the next, so a ratio to a separate `xz -dc` run ranks builds poorly;
 * the tail is measured inside the same run. Builds alternate, this one first.
 *
 *   npm run build && node dist/bench/formats/xz-tail.js <image.xz> [<checkout>/bin/provision.js] [--rounds 2]
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, CREDS, startSim } from '../upload/sim.js'
import { writeRecipe } from '../upload/scenarios.js'

const image = process.argv[2]
const other = process.argv[3]?.startsWith('--') ? undefined : process.argv[3]
const at = process.argv.indexOf('--rounds')
const rounds = at < 0 ? 2 : Number(process.argv[at + 1])
if (!image || image.startsWith('--') || !Number.isInteger(rounds) || rounds < 1) throw new Error('usage: xz-tail.js <image.xz> [<checkout>/bin/provision.js] [--rounds N]')

/** The xz child of `pid`, if running. */
function xzOf(pid: number): string | undefined {
  try {
    return (
      execFileSync('pgrep', ['-P', String(pid), '-x', 'xz'])
        .toString()
        .trim() || undefined
    )
  } catch {
    return undefined
  }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-tail-'))
const sim = await startSim()
try {
  const recipe = await writeRecipe(dir)
  for (let r = 1; r <= rounds; r++) {
    for (const [label, bin] of [['this build', BIN], ...(other ? [['other build', other]] : [])] as const) {
      execFileSync('sync')
      const t0 = Date.now()
      const p = spawn(process.execPath, [bin, recipe, '--host', sim.url, '--image', image, '--name', `bench-tail-${r}`, '--json', '--skip-preflight'], {
        env: { PATH: process.env.PATH ?? '', ...CREDS },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      const exited = new Promise<number | null>((resolve) => p.once('exit', resolve))
      let seen = false
      let xzEnd: number | undefined
      // Polled every 0.1 s: the tail is known to that much.
      const poll = setInterval(() => {
        if (xzOf(p.pid!)) seen = true
        else if (seen && xzEnd === undefined) xzEnd = Date.now() - t0
      }, 100)
      const code = await exited
      clearInterval(poll)
      const total = Date.now() - t0
      if (code !== 0) throw new Error(`${label} exited ${code}`)
      const tail = xzEnd === undefined ? 'n/a' : `${((total - xzEnd) / 1000).toFixed(1)} s`
      console.log(
        `round ${r}: ${label.padEnd(12)} wall ${(total / 1000).toFixed(1)} s, xz done at ${xzEnd === undefined ? 'n/a' : `${(xzEnd / 1000).toFixed(1)} s`}, tail ${tail}  load ${loadavg()[0]!.toFixed(1)}`,
      )
      await sim.cleanup()
    }
  }
} finally {
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
