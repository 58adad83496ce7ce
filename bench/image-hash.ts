/**
 * A fleet image's sha256 (src/fleet/image-hash.ts): `npx tsx bench/image-hash.ts [GiB]`.
 * A sparse raw image (default 4 GiB, 64 MiB of data in 16 pieces) is mapped, then hashed
 * three times: wall time, the process's CPU (all threads), the main thread's longest
 * block (perf_hooks.monitorEventLoopDelay, and the longest gap between 10 ms timer ticks),
 * then once more through the cache (ImageHashes, a fresh cache directory). The value is
 * checked against `sha256sum` of the file.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { ImageHashes, imageSha256 } from '../src/fleet/image-hash.js'
import { scanDataRegions } from '../src/upload/find/data-map.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const size = Number(process.argv[2] ?? 4) * GiB

async function measure(run: () => Promise<string>): Promise<{ sha: string; wallMs: number; cpuMs: number; maxDelayMs: number; maxGapMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  let last = performance.now()
  let maxGap = 0
  const tick = setInterval(() => {
    const now = performance.now()
    maxGap = Math.max(maxGap, now - last)
    last = now
  }, 10)
  h.enable()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const sha = await run()
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  h.disable()
  clearInterval(tick)
  return { sha, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, maxDelayMs: h.max / 1e6, maxGapMs: maxGap }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-image-hash-'))
try {
  const image = join(dir, 'sparse.raw')
  const fh = await open(image, 'w')
  const piece = Buffer.alloc(4 * MiB)
  for (let i = 0; i < 16; i++) {
    piece.fill(i + 1)
    await fh.write(piece, 0, piece.length, Math.floor((i * size) / 16))
  }
  await fh.truncate(size)
  await fh.close()
  const want = execFileSync('sha256sum', [image], { encoding: 'utf8' }).split(' ')[0]
  const map = await scanDataRegions(image)
  console.log(`${size / GiB} GiB sparse raw, ${map.dataBytes / MiB} MiB of data in ${map.regions.length} regions; load ${(await import('node:os')).loadavg()[0]!.toFixed(2)}`)
  for (let i = 0; i < 3; i++) {
    const r = await measure(() => imageSha256(image, map))
    if (r.sha !== want) throw new Error(`hash ${r.sha}, sha256sum ${want}`)
    console.log(`hash: ${r.wallMs.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU, main thread's longest block ${r.maxDelayMs.toFixed(1)} ms, longest 10 ms-timer gap ${r.maxGapMs.toFixed(1)} ms`)
  }
  const env = { XDG_CACHE_HOME: join(dir, 'cache') }
  await new Promise((resolve) => setTimeout(resolve, 2100)) // the cache keeps only images unchanged for 2 s
  await new ImageHashes({ env }).get(image, map)
  const r = await measure(() => new ImageHashes({ env }).get(image, map))
  if (r.sha !== want) throw new Error(`cached ${r.sha}, sha256sum ${want}`)
  console.log(`cached: ${r.wallMs.toFixed(1)} ms wall, ${r.cpuMs.toFixed(1)} ms CPU`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
