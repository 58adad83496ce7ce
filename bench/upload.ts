/**
 * The upload against the two things it replaces, on one simulator process (issue 4):
 *   - a 16 GiB sparse image holding 1 GiB of random data: `provision` (the spawned CLI)
 *     vs `curl -T` of the whole raw image (what `xe vdi-import` does) and `curl -T` of
 *     the 1 GiB of data alone (the floor). Goals: <= 1.3x the floor, > 10x faster than
 *     the whole image.
 *   - a dense 2 GiB image: provision vs curl -T. Goal: <= 1.2x.
 *   - resume: the connection cut at 60% (simulator fault), then the same command again.
 * Also how long finding the data takes with SEEK_DATA and with a full read.
 * Wall time, CPU time (user + system) and peak RSS are the measured process's own.
 * Needs ~4.2 GiB in the temp directory (checked first) and removes it all at the end.
 *
 * By default everything goes over loopback, ~2 minutes. With `--link <Mbit/s>` the
 * uploads (curl's and provision's alike) cross a rate-limited link (upload/link.ts),
 * the regime of a real host on a LAN; at 1000 that run takes ~5 minutes, most of it
 * the whole-image baseline.
 *
 *   npm run bench -- upload          (or: npm run build && node dist/bench/upload.js [--link 1000])
 *
 * `--sparse-only` runs only the floor / sparse pairs (~1 minute); `--rounds <n>` sets how
 * many; `--compare <path/to/bin/provision.js>` adds another build's run to each round,
 * so two builds meet the same simulator and the same load (start-up before/after).
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { scanDataRegions } from '../src/upload/find/data-map.js'
import { regionHashes } from '../src/upload/find/region-hashes.js'
import { writeBenchImages } from './upload/images.js'
import { startSim } from './upload/sim.js'
import { startLink } from './upload/link.js'
import { curlUpload, provisionRun, resumeRun, writeRecipe, type Figure, type ProvisionFigure } from './upload/scenarios.js'
import { GiB, MiB, fastest, fmt, goal, header, row } from './upload/report.js'

const NEED = 5 * GiB
const { values } = parseArgs({ options: { link: { type: 'string' }, rounds: { type: 'string' }, 'sparse-only': { type: 'boolean', default: false }, compare: { type: 'string' } } })
const linkMbit = values.link ? Number(values.link) : undefined
const ROUNDS = values.rounds ? Math.max(1, Number(values.rounds)) : linkMbit ? 1 : 2
const compare = values.compare ? resolve(values.compare) : undefined

const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'))
console.log(execFileSync('df', ['-h', dir]).toString().trimEnd())
const fs = await statfs(dir)
if (fs.bavail * fs.bsize < NEED) {
  await rm(dir, { recursive: true, force: true })
  throw new Error(`the bench needs ${NEED / GiB} GiB free in ${tmpdir()}; there are ${((fs.bavail * fs.bsize) / GiB).toFixed(1)}`)
}
const sim = await startSim()
const link = linkMbit ? await startLink(sim.url, (linkMbit * 1e6) / 8) : undefined
// Setup calls go straight to the simulator; every measured upload goes through the link when there is one.
const target = link ? { ...sim, url: link.url } : sim
try {
  const t0 = performance.now()
  const images = await writeBenchImages(dir)
  const recipe = await writeRecipe(dir)
  console.log(`images written in ${((performance.now() - t0) / 1000).toFixed(1)} s; simulator at ${sim.url}${link ? `, through a ${linkMbit} Mbit/s link at ${link.url}` : ', over loopback'}`)

  if (!link && !values['sparse-only']) {
    console.log('\nfinding the data in the 16 GiB sparse image (SEEK_DATA through python3; fallback: read every byte)')
    for (const seekData of [true, false]) {
      const t = performance.now()
      const map = await scanDataRegions(images.sparse, { seekData })
      console.log(
        `  ${map.method.padEnd(9)} ${(performance.now() - t).toFixed(0).padStart(6)} ms, read ${fmt(map.bytesRead, MiB, 0)} MiB, found ${fmt(map.dataBytes, MiB, 0)} MiB of data in ${map.regions.length} regions`,
      )
      if (!seekData) continue
      const h = performance.now()
      await regionHashes(map)
      console.log(`  hashing its regions (the image's identity, on all cores) ${(performance.now() - h).toFixed(0)} ms`)
    }
  }

  console.log(`\n${header()}`)
  const show = <T extends Figure>(f: T): T => (console.log(row(f)), f)
  // Paired figures alternate, ROUNDS times; the fastest of each counts.
  const runs = { floor: [] as Figure[], sparse: [] as ProvisionFigure[], other: [] as ProvisionFigure[], denseCurl: [] as Figure[], dense: [] as ProvisionFigure[] }
  for (let round = 1; round <= ROUNDS; round++) {
    runs.floor.push(show(await curlUpload(target, `floor: curl -T the 1 GiB of data #${round}`, images.floor, 16 * GiB)))
    runs.sparse.push(show(await provisionRun(target, `provision, 16 GiB sparse #${round}`, recipe, images.sparse, `bench-sparse-${round}`)))
    if (compare) runs.other.push(show(await provisionRun(target, `--compare build, sparse #${round}`, recipe, images.sparse, `bench-other-${round}`, true, compare)))
  }
  if (values['sparse-only']) {
    const floor = fastest(runs.floor)
    for (const f of [...runs.sparse, ...runs.other]) if (!f.result) throw new Error(`${f.label} failed: ${f.stdout}${f.stderr}`)
    console.log(
      `\nsparse / floor (fastest of ${ROUNDS}): ${(fastest(runs.sparse).wallMs / floor.wallMs).toFixed(2)}${compare ? `; the --compare build: ${(fastest(runs.other).wallMs / floor.wallMs).toFixed(2)}` : ''} (goal <= 1.3)`,
    )
  } else {
    const whole = show(await curlUpload(target, 'curl -T the whole 16 GiB image', images.sparse, 16 * GiB))
    for (let round = 1; round <= ROUNDS; round++) {
      runs.denseCurl.push(show(await curlUpload(target, `curl -T the dense 2 GiB image #${round}`, images.dense, 16 * GiB)))
      runs.dense.push(show(await provisionRun(target, `provision, 2 GiB dense #${round}`, recipe, images.dense, `bench-dense-${round}`)))
    }
    const [floor, denseCurl] = [fastest(runs.floor), fastest(runs.denseCurl)]
    const [sparse, dense] = [fastest(runs.sparse), fastest(runs.dense)]
    for (const f of [sparse, dense]) if (!f.result) throw new Error(`${f.label} failed: ${f.stdout}${f.stderr}`)
    const resume = await resumeRun(target, recipe, images.sparse)
    show(resume.first)
    show(resume.second)

    const up = sparse.result!.upload
    console.log(
      `\nprovision, 16 GiB sparse: read ${fmt(up.bytes_read, MiB, 0)} MiB, sent ${fmt(up.bytes_sent, MiB, 1)} MiB for ${fmt(up.data_bytes, MiB, 0)} MiB of data in a ${fmt(up.image_size, GiB, 0)} GiB image (${up.method}, ${up.segments} segments)`,
    )
    const r2 = resume.second.result?.upload
    console.log(
      `resume: first run cut at byte ${resume.cutAt} of ${resume.total} (60%), gave up after its retries in ${fmt(resume.first.wallMs, 1000, 1)} s; ` +
        `the re-run continued from image byte ${r2?.resumed_from ?? 'n/a'} and sent ${fmt(r2?.bytes_sent, MiB, 1)} MiB (${r2 ? ((r2.bytes_sent / resume.total) * 100).toFixed(0) : 'n/a'}% of a full upload)`,
    )
    console.log(`\ngoals${ROUNDS > 1 ? ` (fastest of ${ROUNDS} alternating runs for each paired figure)` : ''}`)
    const ok = [
      goal('provision sparse / floor (1 GiB curl)', sparse.wallMs / floor.wallMs, sparse.wallMs <= 1.3 * floor.wallMs, '<= 1.3'),
      goal('whole-image curl / provision sparse', whole.wallMs / sparse.wallMs, whole.wallMs > 10 * sparse.wallMs, '> 10'),
      goal('provision dense / curl dense', dense.wallMs / denseCurl.wallMs, dense.wallMs <= 1.2 * denseCurl.wallMs, '<= 1.2'),
    ]
    if (!ok.every(Boolean)) process.exitCode = 1
  }
} finally {
  await link?.close()
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
