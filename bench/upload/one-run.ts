import { join } from 'node:path'
import { writeSampleImage } from '../../src/image/write-image.js'
import { timeRun, type RunTiming } from '../startup/spawn-timing.js'
import { CREDS, startSim } from './sim.js'

/**
 * The CPU of one whole `provision freebsd-9 --host <simulator> --image <PV sample> --json`
 * (docs/upload.md, "CPU of one run"): what each of the test suite's ~100 spawned runs
 * costs. The simulator runs in its own process, so only provision's CPU is counted (all
 * its threads and children: GNU time). Each build in `clis` runs `runs` times, the builds
 * alternating, all against the same simulator, so a busy machine weighs on each alike.
 * `dir` must be empty: it is the runs' working directory (no ./.env is read) and holds the image.
 */
export async function wholeRuns(clis: readonly string[], runs: number, dir: string): Promise<RunTiming[][]> {
  const image = join(dir, 'freebsd-9.img')
  await writeSampleImage(image)
  const sim = await startSim()
  const out = clis.map((): RunTiming[] => [])
  const cwd = process.cwd()
  try {
    process.chdir(dir)
    const env = { ...process.env, ...CREDS }
    for (let i = 0; i < runs; i++) {
      for (const [b, cli] of clis.entries()) {
        // A name per run: the same name twice would find the first run's VM and upload nothing.
        // The VMs are left running (the simulator goes at the end): a cleanup would need a shutdown each.
        out[b]!.push(timeRun(process.execPath, [cli, 'freebsd-9', '--host', sim.url, '--image', image, '--json', '--name', `cpu-${b}-${i}`], env))
      }
    }
  } finally {
    process.chdir(cwd)
    await sim.stop()
  }
  return out
}
