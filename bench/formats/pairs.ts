/**
 * Alternating rounds on one compressed image that already exists, for comparing two
 * builds on a shared, noisy machine without making the bench's images again (formats.ts
 * takes ~5 minutes to make its OS-like qcow2.xz): each round runs `xz -dc -T0 > /dev/null`
 * of the image, then this build and the other, in turns (this one first in odd rounds,
 * the other first in even ones), and prints each run and both ratios to `xz -dc` of the
 * same round.
 *
 *   npm run build && node dist/bench/formats/pairs.js <image.xz> --compare <checkout>/bin/provision.js [--rounds 3]
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { measure } from '../upload/measure.js'
import { startSim } from '../upload/sim.js'
import { provisionRun, writeRecipe, type Figure } from '../upload/scenarios.js'
import { fmt, header, row } from '../upload/report.js'

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name)
  return at < 0 ? undefined : process.argv[at + 1]
}
const image = process.argv[2]
const other = arg('--compare')
const rounds = Number(arg('--rounds') ?? 3)
if (!image || image.startsWith('--') || !other || !Number.isInteger(rounds) || rounds < 1) throw new Error('usage: pairs.js <image.xz> --compare <checkout>/bin/provision.js [--rounds N]')

const dir = await mkdtemp(join(tmpdir(), 'bench-pairs-'))
const sim = await startSim()
try {
  const recipe = await writeRecipe(dir)
  const show = <T extends Figure>(f: T): T => (console.log(`${row(f)}  load ${loadavg()[0]!.toFixed(1)}${f.childCpuMs !== undefined ? `, children ${fmt(f.childCpuMs, 1000)} s cpu` : ''}`), f)
  console.log(header())
  for (let r = 1; r <= rounds; r++) {
    execFileSync('sync')
    const xz = show({ ...(await measure('sh', ['-c', `xz -dc -T0 '${image}' > /dev/null`])), label: `round ${r}: xz -dc -T0 ${basename(image)}`, wireBytes: Number.NaN })
    const builds = [
      ['this build', undefined],
      ['other build', other],
    ] as const
    const ratios: string[] = []
    for (const [label, bin] of r % 2 ? builds : [...builds].reverse()) {
      execFileSync('sync')
      const p = show(await provisionRun(sim, `round ${r}: ${label}`, recipe, image, `bench-pairs-${r}`, true, bin))
      if (!p.result) throw new Error(`${label} failed: ${p.stdout}${p.stderr}`)
      ratios.push(`${label} / xz -dc ${(p.wallMs / xz.wallMs).toFixed(2)}`)
    }
    console.log(`  ${ratios.join(', ')}`)
  }
} finally {
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
