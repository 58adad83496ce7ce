/**
 * The upload against the two things it replaces, on one simulator process (issue 4):
 *   - a 16 GiB sparse image holding 1 GiB of random data: `provision` (the spawned CLI)
 *     vs `curl -T` of the whole raw image (what `xe vdi-import` does) and `curl -T` of
 *     the 1 GiB of data alone (the floor). Goals: ≤ 1.3× the floor, > 10× faster than
 *     the whole image.
 *   - a dense 2 GiB image: provision vs curl -T. Goal: ≤ 1.2×.
 *   - resume: the connection cut at 60% (simulator fault), then the same command again.
 * Also how long finding the data takes with SEEK_DATA and with a full read.
 * Wall time, CPU time (user + system) and peak RSS are the measured process's own.
 * Needs ~4.2 GiB in the temp directory (checked first) and removes it all at the end.
 *
 *   npm run bench -- upload        (or: npm run build && node dist/bench/upload.js)
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { scanDataRegions } from '../src/upload/data-map.js'
import { GiB, MiB, writeBenchImages } from './upload/images.js'
import { startSim } from './upload/sim.js'
import { curlUpload, provisionRun, resumeRun, writeRecipe, type Figure } from './upload/scenarios.js'

const NEED = 5 * GiB
const fmt = (n: number | undefined, unit: number, digits = 2): string => (n === undefined || Number.isNaN(n) ? 'n/a' : (n / unit).toFixed(digits))

function row(f: Figure): string {
  return `${f.label.padEnd(34)} ${fmt(f.wallMs, 1000).padStart(7)} s ${fmt(f.cpuMs, 1000).padStart(7)} s ${fmt(f.maxRssBytes, MiB, 0).padStart(6)} MiB ${fmt(f.wireBytes, MiB, 1).padStart(9)} MiB`
}

function goal(label: string, value: number, ok: boolean, target: string): boolean {
  console.log(`  ${label.padEnd(44)} ${value.toFixed(2).padStart(6)}  (goal ${target})  ${ok ? 'met' : 'MISSED'}`)
  return ok
}

const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'))
console.log(execFileSync('df', ['-h', dir]).toString().trimEnd())
const fs = await statfs(dir)
if (fs.bavail * fs.bsize < NEED) {
  await rm(dir, { recursive: true, force: true })
  throw new Error(`the bench needs ${NEED / GiB} GiB free in ${tmpdir()}; there are ${(fs.bavail * fs.bsize / GiB).toFixed(1)}`)
}
const sim = await startSim()
try {
  const t0 = performance.now()
  const images = await writeBenchImages(dir)
  const recipe = await writeRecipe(dir)
  console.log(`images written in ${((performance.now() - t0) / 1000).toFixed(1)} s; simulator at ${sim.url}`)

  console.log('\nfinding the data in the 16 GiB sparse image (file system: SEEK_DATA via python3; fallback: read everything)')
  for (const seekData of [true, false]) {
    const t = performance.now()
    const map = await scanDataRegions(images.sparse, { seekData })
    console.log(`  ${map.method.padEnd(9)} ${(performance.now() - t).toFixed(0).padStart(6)} ms, read ${fmt(map.bytesRead, MiB, 0)} MiB, found ${fmt(map.dataBytes, MiB, 0)} MiB of data in ${map.regions.length} regions`)
  }

  console.log(`\n${'what'.padEnd(34)} ${'wall'.padStart(9)} ${'cpu'.padStart(9)} ${'peak RSS'.padStart(10)} ${'on the wire'.padStart(13)}`)
  const figures: Figure[] = []
  const show = <T extends Figure>(f: T): T => (figures.push(f), console.log(row(f)), f)
  const floor = show(await curlUpload(sim, 'floor: curl -T the 1 GiB of data', images.floor, 16 * GiB))
  const whole = show(await curlUpload(sim, 'curl -T the whole 16 GiB image', images.sparse, 16 * GiB))
  const sparse = show(await provisionRun(sim, 'provision, 16 GiB sparse', recipe, images.sparse, 'bench-sparse'))
  const denseCurl = show(await curlUpload(sim, 'curl -T the dense 2 GiB image', images.dense, 16 * GiB))
  const dense = show(await provisionRun(sim, 'provision, 2 GiB dense', recipe, images.dense, 'bench-dense'))
  for (const f of [sparse, dense]) if (!f.result) throw new Error(`${f.label} failed: ${f.stdout}${f.stderr}`)
  const resume = await resumeRun(sim, recipe, images.sparse)
  show(resume.first)
  show(resume.second)

  const up = sparse.result!.upload
  console.log(`\nprovision, 16 GiB sparse: read ${fmt(up.bytes_read, MiB, 0)} MiB, sent ${fmt(up.bytes_sent, MiB, 1)} MiB for ${fmt(up.data_bytes, MiB, 0)} MiB of data in a ${fmt(up.image_size, GiB, 0)} GiB image (${up.method}, ${up.segments} segments)`)
  const r2 = resume.second.result?.upload
  console.log(
    `resume: first run cut at byte ${resume.cutAt} of ${resume.total} (60%), gave up after its retries in ${fmt(resume.first.wallMs, 1000, 1)} s; ` +
      `the re-run continued from image byte ${r2?.resumed_from ?? 'n/a'} and sent ${fmt(r2?.bytes_sent, MiB, 1)} MiB (${r2 ? ((r2.bytes_sent / resume.total) * 100).toFixed(0) : 'n/a'}% of a full upload)`,
  )
  console.log('\ngoals')
  const ok = [
    goal('provision sparse / floor (1 GiB curl)', sparse.wallMs / floor.wallMs, sparse.wallMs <= 1.3 * floor.wallMs, '<= 1.3'),
    goal('whole-image curl / provision sparse', whole.wallMs / sparse.wallMs, whole.wallMs > 10 * sparse.wallMs, '> 10'),
    goal('provision dense / curl dense', dense.wallMs / denseCurl.wallMs, dense.wallMs <= 1.2 * denseCurl.wallMs, '<= 1.2'),
  ]
  if (!ok.every(Boolean)) process.exitCode = 1
} finally {
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
