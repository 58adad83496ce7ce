/**
 * Published image formats against what a user would otherwise do (issue 11), every
 * ratio from this one run, on one simulator process:
 *   - qcow2 of 16 GiB holding 1 GiB of random data: `provision` vs `curl -T` of that
 *     1 GiB as raw (goal <= 1.3x), and vs `qemu-img convert -O raw` followed by
 *     `curl -T` of the whole 16 GiB raw (goal: provision >= 10x faster);
 *   - the same disk as `.qcow2.xz` and `.raw.xz`: provision vs `xz -dc -T0 > /dev/null`
 *     of the same file (goal <= 1.2x), with the random data (stored in xz, so `xz -dc` is
 *     a copy: formats/xz-fast.ts) and with OS-like data compressed by the real xz
 *     (`-os` rows, formats/realistic.ts: the goal's figure);
 *   - peak RSS of provision for the 16 GiB disk as raw, qcow2, VHD, VMDK, qcow2.xz and
 *     raw.xz (goal <= 200 MiB each);
 *   - what a qcow2 passthrough (format=qcow2, the file as-is) would put on the wire,
 *     next to the chunked upload's bytes;
 *   - the same qcow2 and (opt-in: --only raw.gz) raw made by the real `gzip -1`: provision's
 *     peak RSS (goal <= 200 MiB) and, for information (the issue sets no time goal for
 *     gzip), its time beside `gzip -dc > /dev/null`. Provision spools a gzip image whole
 *     before the upload (docs/formats.md: gzip declares no size it can trust), Node
 *     inflating it (src/disk/spool-gzip.ts, node:zlib) and writing only the non-zero 64 KiB
 *     blocks to a sparse spool; so its wall is that inflate and zero scan of the whole file
 *     plus the upload of the 1 GiB after it, not overlapped. qcow2.gz adds ~50 s to the
 *     default run (gzip -1 of the 1 GiB qcow2: 38 s at load ~4.5). raw.gz is not in the
 *     default run: it adds ~4 minutes (gzip -1 of the 16 GiB raw: 132 s, gzip -dc 58 s,
 *     provision 44 s at load ~5-7); `--only raw.gz` takes ~4.5 minutes in all.
 * Needs ~8 GiB in the temp directory (checked first; the gzip rows' file and provision's
 * spool of it come last), removes it all at the end; ~11 minutes on 2 loaded cores, most
 * of it decompressing 16 GiB of xz twice.
 * Every timed step starts with the disk's writeback done (`sync`), and one untimed upload
 * of the 1 GiB warms the simulator first, so the first timed step is not the one that pays for either.
 *
 *   npm run bench -- formats          (or: npm run build && node dist/bench/formats.js)
 *   node dist/bench/formats.js --only vmdk,raw.xz    (some rows: qcow2, raw, vhd, vmdk, qcow2.xz, raw.xz,
 *                                                    qcow2.xz-os, raw.xz-os, qcow2.gz, raw.gz (only run when
 *                                                    named); qcow2 brings its curl and convert rows)
 *   --link <Mbit/s>     every measured upload (curl's and provision's) crosses a rate-limited link
 *                       (upload/link.ts), the regime of a real host on a LAN; setup calls go straight
 *                       to the simulator. The issue's goals are over loopback: through a link each
 *                       verdict says so. `--only qcow2 --link 1000` takes ~4 minutes, most of it the
 *                       whole 16 GiB raw's curl (~2.3 minutes at 1 Gb/s).
 *   --rounds <n>        the qcow2 group (curl, provision, convert + curl) n times in turns; its goals
 *                       take the medians (single runs vary by ~20% on a loaded 2-core machine). Default 1.
 *   --compare <other checkout>/bin/provision.js      (each provision row run again by that build, right after;
 *                                                    --compare-first: right before)
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, stat, statfs } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { writeBenchImages } from './upload/images.js'
import { measure } from './upload/measure.js'
import { startSim } from './upload/sim.js'
import { startLink } from './upload/link.js'
import { curlUpload, provisionRun, writeRecipe, type Figure, type ProvisionFigure } from './upload/scenarios.js'
import { GiB, MiB, fmt, goal, header, median, row } from './upload/report.js'
import { writeXz } from './formats/xz-fast.js'
import { writeRealisticQcow2Xz, writeRealisticRawXz } from './formats/realistic.js'

const ROWS = ['qcow2', 'raw', 'vhd', 'vmdk', 'qcow2.xz', 'raw.xz', 'qcow2.xz-os', 'raw.xz-os', 'qcow2.gz', 'raw.gz'] as const
type Row = (typeof ROWS)[number]
/** Rows run only when --only names them: raw.gz adds ~4 minutes (the header). */
const OPT_IN: readonly Row[] = ['raw.gz']
const { values } = parseArgs({
  options: { only: { type: 'string' }, link: { type: 'string' }, rounds: { type: 'string' }, compare: { type: 'string' }, 'compare-first': { type: 'boolean', default: false } },
})
const only = values.only === undefined ? ROWS.filter((r) => !OPT_IN.includes(r)) : values.only.split(',')
const unknown = only.filter((r) => !(ROWS as readonly string[]).includes(r))
if (unknown.length || !only.length) throw new Error(`--only takes rows out of ${ROWS.join(',')}, comma-separated; not "${unknown.join(',')}"`)
const wanted = (r: Row): boolean => only.includes(r)
const compare = values.compare ? resolve(values.compare) : undefined
const compareFirst = values['compare-first']
const linkMbit = values.link === undefined ? undefined : Number(values.link)
if (linkMbit !== undefined && !(Number.isFinite(linkMbit) && linkMbit > 0)) throw new Error(`--link takes the link's rate in Mbit/s, a positive number (e.g. --link 1000); not "${values.link}"`)
const ROUNDS = values.rounds === undefined ? 1 : Number(values.rounds)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds takes how many times to run the qcow2 group, a whole number >= 1; not "${values.rounds}"`)
/** Follows every goal's verdict: the issue's goals are over loopback. */
const regime = linkMbit ? `through a ${linkMbit} Mbit/s link` : 'over loopback'

const NEED = 8 * GiB
const dir = await mkdtemp(join(tmpdir(), 'bench-formats-'))
const fs = await statfs(dir)
if (fs.bavail * fs.bsize < NEED) {
  await rm(dir, { recursive: true, force: true })
  throw new Error(`the bench needs ${NEED / GiB} GiB free in ${tmpdir()}; there are ${((fs.bavail * fs.bsize) / GiB).toFixed(1)}`)
}
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
console.log(`load average at start: ${load()} (${execFileSync('nproc').toString().trim()} cores); measured uploads ${regime}`)

/** A tool run as a user would run it, timed; throws with its stderr when it fails. */
async function tool(label: string, cmd: string, args: string[]): Promise<Figure> {
  const m = await measure(cmd, args)
  if (m.code !== 0) throw new Error(`${label}: ${cmd} exited ${m.code}: ${m.stderr}`)
  return { ...m, label, wireBytes: Number.NaN }
}

/**
 * Before each timed step: the disk's writeback done. The fixtures and the previous step's
 * output are gigabytes of dirty pages whose flush would slow whichever step comes first.
 */
const settle = (): void => void execFileSync('sync')

/** A ratio the issue sets no goal for, printed as the goal lines are but without a verdict. */
const info = (label: string, value: number): void => console.log(`  ${label.padEnd(44)} ${value.toFixed(2).padStart(6)}  (information: no goal) ${regime}`)

const sim = await startSim()
const link = linkMbit ? await startLink(sim.url, (linkMbit * 1e6) / 8) : undefined
// Setup calls go straight to the simulator; every measured upload goes through the link when there is one.
const target = link ? { ...sim, url: link.url } : sim
try {
  const t0 = performance.now()
  const images = await writeBenchImages(dir)
  await rm(images.dense, { force: true }) // upload.ts's dense image is not used here
  const raw = images.sparse
  const qcow2 = join(dir, 'disk.qcow2')
  const vhd = join(dir, 'disk.vhd')
  const vmdk = join(dir, 'disk.vmdk')
  if (wanted('qcow2') || wanted('qcow2.xz') || wanted('qcow2.gz')) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2])
  if (wanted('vhd')) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', raw, vhd])
  if (wanted('vmdk')) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk])
  const recipe = await writeRecipe(dir)
  console.log(`images made in ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${load()}`)
  // One untimed upload of the 1 GiB first, straight to the simulator: the first upload into a
  // freshly started simulator after the images were written ran ~2x slower than the same one
  // repeated (2.5 s vs 0.9-1.3 s), and it was the curl every qcow2 ratio is measured against.
  settle()
  await curlUpload(sim, 'warm-up', images.floor, 16 * GiB)
  console.log(
    `simulator at ${sim.url}, warmed by one untimed upload; every measured upload (curl's and provision's) ${link ? `${regime} at ${link.url} (setup calls go straight to the simulator)` : regime}`,
  )

  if (link && wanted('qcow2')) {
    const s = (16 * GiB * 8) / (linkMbit! * 1e6)
    console.log(`the whole 16 GiB raw's curl (the convert + curl goal's yardstick) will take ~${s.toFixed(0)} s through the link${ROUNDS > 1 ? `, in each of the ${ROUNDS} rounds` : ''}`)
  }
  console.log(`\n${header()}`)
  // The load and, for provision, the CPU of its children (xz, the spool's map helper) after each row.
  const show = <T extends Figure>(f: T): T => (console.log(`${row(f)}  load ${loadavg()[0]!.toFixed(1)}${f.childCpuMs !== undefined ? `, children ${fmt(f.childCpuMs, 1000)} s cpu` : ''}`), f)
  const other: ProvisionFigure[] = []
  const provision = (label: string, image: string, name: string, bin?: string): Promise<ProvisionFigure> => {
    settle()
    return provisionRun(target, label, recipe, image, name, true, bin)
  }
  const run = async (label: string, image: string, name: string): Promise<ProvisionFigure> => {
    const again = async (): Promise<void> => {
      if (compare) other.push(show(await provision(`${label.replace('provision, ', '')} (--compare)`, image, name, compare)))
    }
    if (compareFirst) await again()
    const f = show(await provision(label, image, name))
    if (!f.result) throw new Error(`${label} failed: ${f.stdout}${f.stderr}`)
    if (!compareFirst) await again()
    return f
  }
  const curl = (label: string, file: string): Promise<Figure> => {
    settle()
    return curlUpload(target, label, file, 16 * GiB)
  }
  const ok: boolean[] = []
  const rss: ProvisionFigure[] = []

  if (wanted('qcow2')) {
    const whole = join(dir, 'converted.raw')
    const floors: Figure[] = []
    const qs: ProvisionFigure[] = []
    const baselines: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const n = ROUNDS > 1 ? ` #${round}` : ''
      floors.push(show(await curl(`curl -T the 1 GiB of data (raw)${n}`, images.floor)))
      qs.push(await run(`provision, 16 GiB qcow2${n}`, qcow2, `bench-qcow2-${round}`))
      settle()
      const conv = show(await tool(`qemu-img convert -O raw${n}`, 'qemu-img', ['convert', '-O', 'raw', qcow2, whole]))
      const wholeCurl = show(await curl(`then curl -T the whole 16 GiB raw${n}`, whole))
      await rm(whole, { force: true })
      baselines.push(conv.wallMs + wholeCurl.wallMs)
    }
    const [floor, q, baseline] = [median(floors.map((f) => f.wallMs)), median(qs.map((f) => f.wallMs)), median(baselines)]
    if (ROUNDS > 1) console.log(`medians of ${ROUNDS} rounds: curl of the 1 GiB ${fmt(floor, 1000)} s, provision qcow2 ${fmt(q, 1000)} s, convert + curl whole raw ${fmt(baseline, 1000)} s`)
    ok.push(
      goal('provision qcow2 / curl of the 1 GiB', q / floor, q <= 1.3 * floor, '<= 1.3', regime),
      goal('(convert + curl whole raw) / provision qcow2', baseline / q, baseline >= 10 * q, '>= 10', regime),
    )
    // The RSS goal takes the highest peak of the rounds.
    const peak = qs.reduce((a, b) => ((b.maxRssBytes ?? 0) > (a.maxRssBytes ?? 0) ? b : a))
    rss.push({ ...peak, label: 'provision, 16 GiB qcow2' })
    const qSize = (await stat(qcow2)).size
    console.log(`chunked upload of the qcow2: ${fmt(peak.result!.upload.bytes_sent, MiB, 1)} MiB on the wire, in ${peak.result!.upload.segments} resumable segments`)
    console.log(`a format=qcow2 passthrough would send the file as it is: ${fmt(qSize, MiB, 1)} MiB, in one PUT, no resume`)
  }
  if (wanted('raw')) rss.push(await run('provision, 16 GiB raw', raw, 'bench-raw'))
  if (wanted('vhd')) rss.push(await run('provision, 16 GiB VHD dynamic', vhd, 'bench-vhd'))
  if (wanted('vmdk')) rss.push(await run('provision, 16 GiB VMDK stream', vmdk, 'bench-vmdk'))
  // Made only now, so the figures above print first (compressing takes most of the run).
  // Random data: not xz itself, which takes half an hour to find no matches in 2 GiB of random
  // data on a loaded 2-core machine; writeXz writes the file xz -0 would, in seconds
  // (formats/xz-fast.ts). OS-like data: the real xz (formats/realistic.ts). gzip: the real
  // gzip at its fastest level (-1, single member, as a user's `gzip` makes it), its time printed.
  let osRaw: Promise<string> | undefined
  const os = (): Promise<string> => (osRaw ??= writeRealisticRawXz(dir))
  const gzip = async (file: string): Promise<string> => (show(await tool(`(making it) gzip -1 ${basename(file)}`, 'gzip', ['-1', '-k', '-f', file])), `${file}.gz`)
  for (const [r, make, name] of [
    ['qcow2.xz', async () => writeXz(qcow2), 'bench-qcow2-xz'],
    ['raw.xz', async () => writeXz(raw), 'bench-raw-xz'],
    ['qcow2.xz-os', async () => writeRealisticQcow2Xz(await os()), 'bench-qcow2-xz-os'],
    ['raw.xz-os', async () => `${await os()}.xz`, 'bench-raw-xz-os'],
    ['qcow2.gz', () => gzip(qcow2), 'bench-qcow2-gz'],
    ['raw.gz', () => gzip(raw), 'bench-raw-gz'],
  ] as const) {
    if (!wanted(r)) continue
    const tx = performance.now()
    const file = await make()
    console.log(`(${r} made in ${((performance.now() - tx) / 1000).toFixed(0)} s, ${fmt((await stat(file)).size, MiB, 0)} MiB; load average ${load()})`)
    settle()
    // xz's time has a goal (<= 1.2x); gzip's has none in the issue, so its ratio is information.
    const gz = r.endsWith('.gz')
    const dc = gz ? 'gzip -dc' : 'xz -dc -T0'
    const ref = show(await tool(`${dc} ${basename(file)}`, 'sh', ['-c', `${dc} '${file}' > /dev/null`]))
    const p = await run(`provision, ${r}`, file, name)
    const o = compare ? other.at(-1) : undefined
    if (gz) {
      info(`provision ${r} / gzip -dc`, p.wallMs / ref.wallMs)
      if (o) info(`  --compare build ${r} / gzip -dc`, o.wallMs / ref.wallMs)
    } else {
      ok.push(goal(`provision ${r} / xz -dc`, p.wallMs / ref.wallMs, p.wallMs <= 1.2 * ref.wallMs, '<= 1.2', regime))
      if (o) goal(`  --compare build ${r} / xz -dc`, o.wallMs / ref.wallMs, o.wallMs <= 1.2 * ref.wallMs, '<= 1.2', regime)
    }
    rss.push(p)
    if (r !== 'raw.xz-os') await rm(file, { force: true })
  }
  console.log(`\nload average at the end ${load()}\ngoals`)
  for (const f of rss) ok.push(goal(`peak RSS MiB, ${f.label.replace('provision, ', '')}`, (f.maxRssBytes ?? Number.NaN) / MiB, (f.maxRssBytes ?? Infinity) <= 200 * MiB, '<= 200', regime))
  if (!ok.every(Boolean)) process.exitCode = 1
} finally {
  await link?.close()
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
