/**
 * Published image formats against what a user would otherwise do (issue 11), every
 * ratio from this one run, on one simulator process:
 *   - qcow2 of 16 GiB holding 1 GiB of random data: `provision` vs `curl -T` of that
 *     1 GiB as raw (goal <= 1.3x), and vs `qemu-img convert -O raw` followed by
 *     `curl -T` of the whole 16 GiB raw (goal: provision >= 10x faster);
 *   - the same disk as `.qcow2.xz` and `.raw.xz`: provision vs `xz -dc > /dev/null`
 *     of the same file (goal <= 1.2x);
 *   - peak RSS of provision for the 16 GiB disk as raw, qcow2, VHD, VMDK, qcow2.xz and
 *     raw.xz (goal <= 200 MiB each);
 *   - what a qcow2 passthrough (format=qcow2, the file as-is) would put on the wire,
 *     next to the chunked upload's bytes.
 * Needs ~6 GiB in the temp directory (checked first), removes it all at the end; ~10
 * minutes on 2 loaded cores, most of it decompressing 16 GiB of xz twice.
 *
 *   npm run bench -- formats          (or: npm run build && node dist/bench/formats.js)
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, stat, statfs } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeBenchImages } from './upload/images.js'
import { measure } from './upload/measure.js'
import { startSim } from './upload/sim.js'
import { curlUpload, provisionRun, writeRecipe, type Figure, type ProvisionFigure } from './upload/scenarios.js'
import { GiB, MiB, fmt, goal, header, row } from './upload/report.js'
import { writeXz } from './formats/xz-fast.js'

const NEED = 6 * GiB
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
console.log(`load average at start: ${load()} (${execFileSync('nproc').toString().trim()} cores)`)

/** A tool run as a user would run it, timed; throws with its stderr when it fails. */
async function tool(label: string, cmd: string, args: string[]): Promise<Figure> {
  const m = await measure(cmd, args)
  if (m.code !== 0) throw new Error(`${label}: ${cmd} exited ${m.code}: ${m.stderr}`)
  return { ...m, label, wireBytes: Number.NaN }
}

const sim = await startSim()
try {
  const t0 = performance.now()
  const images = await writeBenchImages(dir)
  await rm(images.dense, { force: true }) // upload.ts's dense image is not used here
  const raw = images.sparse
  const qcow2 = join(dir, 'disk.qcow2')
  const vhd = join(dir, 'disk.vhd')
  const vmdk = join(dir, 'disk.vmdk')
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2])
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', raw, vhd])
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk])
  const recipe = await writeRecipe(dir)
  console.log(`images made in ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${load()}`)

  console.log(`\n${header()}`)
  const show = <T extends Figure>(f: T): T => (console.log(row(f)), f)
  const run = async (label: string, image: string, name: string): Promise<ProvisionFigure> => {
    const f = show(await provisionRun(sim, label, recipe, image, name))
    if (!f.result) throw new Error(`${label} failed: ${f.stdout}${f.stderr}`)
    return f
  }

  const floor = show(await curlUpload(sim, 'curl -T the 1 GiB of data (raw)', images.floor, 16 * GiB))
  const q = await run('provision, 16 GiB qcow2', qcow2, 'bench-qcow2')
  const whole = join(dir, 'converted.raw')
  const conv = show(await tool('qemu-img convert -O raw', 'qemu-img', ['convert', '-O', 'raw', qcow2, whole]))
  const wholeCurl = show(await curlUpload(sim, 'then curl -T the whole 16 GiB raw', whole, 16 * GiB))
  await rm(whole, { force: true })

  const pr = await run('provision, 16 GiB raw', raw, 'bench-raw')
  const pv = await run('provision, 16 GiB VHD dynamic', vhd, 'bench-vhd')
  const pk = await run('provision, 16 GiB VMDK stream', vmdk, 'bench-vmdk')
  // Made only now, so the figures above print first (compressing takes most of the run).
  // Not xz itself: it takes half an hour to find no matches in 2 GiB of random data on a loaded
  // 2-core machine. writeXz writes the file xz -0 would, in seconds (formats/xz-fast.ts).
  const tx = performance.now()
  writeXz(qcow2)
  writeXz(raw)
  console.log(`(xz files made in ${((performance.now() - tx) / 1000).toFixed(0)} s; load average ${load()})`)
  const xzq = show(await tool('xz -dc disk.qcow2.xz > /dev/null', 'sh', ['-c', `xz -dc '${qcow2}.xz' > /dev/null`]))
  const pxq = await run('provision, qcow2.xz', `${qcow2}.xz`, 'bench-qcow2-xz')
  const xzr = show(await tool('xz -dc disk.raw.xz > /dev/null', 'sh', ['-c', `xz -dc '${raw}.xz' > /dev/null`]))
  const pxr = await run('provision, raw.xz', `${raw}.xz`, 'bench-raw-xz')

  const qSize = (await stat(qcow2)).size
  console.log(`\nchunked upload of the qcow2: ${fmt(q.result!.upload.bytes_sent, MiB, 1)} MiB on the wire, in ${q.result!.upload.segments} resumable segments`)
  console.log(`a format=qcow2 passthrough would send the file as it is: ${fmt(qSize, MiB, 1)} MiB, in one PUT, no resume`)
  console.log(`xz files: qcow2.xz ${fmt((await stat(`${qcow2}.xz`)).size, MiB, 0)} MiB, raw.xz ${fmt((await stat(`${raw}.xz`)).size, MiB, 0)} MiB; load average at the end ${load()}`)

  console.log('\ngoals')
  const baseline = conv.wallMs + wholeCurl.wallMs
  const ok = [
    goal('provision qcow2 / curl of the 1 GiB', q.wallMs / floor.wallMs, q.wallMs <= 1.3 * floor.wallMs, '<= 1.3'),
    goal('(convert + curl whole raw) / provision qcow2', baseline / q.wallMs, baseline >= 10 * q.wallMs, '>= 10'),
    goal('provision qcow2.xz / xz -dc', pxq.wallMs / xzq.wallMs, pxq.wallMs <= 1.2 * xzq.wallMs, '<= 1.2'),
    goal('provision raw.xz / xz -dc', pxr.wallMs / xzr.wallMs, pxr.wallMs <= 1.2 * xzr.wallMs, '<= 1.2'),
    ...[pr, q, pv, pk, pxq, pxr].map((f) => goal(`peak RSS MiB, ${f.label.replace('provision, ', '')}`, (f.maxRssBytes ?? Number.NaN) / MiB, (f.maxRssBytes ?? Infinity) <= 200 * MiB, '<= 200')),
  ]
  if (!ok.every(Boolean)) process.exitCode = 1
} finally {
  await sim.stop()
  await rm(dir, { recursive: true, force: true })
}
