/**
 * How long the preflight takes: `npx tsx bench/preflight.ts`. It reads metadata and the
 * kernel pygrub would extract (twice, once per flavour; twice more when it tries an
 * --offset fix), so the time follows the kernel's size, not the disk's.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeSampleHvmImage, writeSampleImage } from '../src/image/write-image.js'
import { preflightHvmFile } from '../src/preflight/hvm.js'
import { preflightFile } from '../src/preflight/preflight.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const PV = { bootloader_args: '--kernel=/boot/kernel/kernel', args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' }
const CASES = [
  { name: '64 MiB sample, 3 MiB kernel', diskSize: 64 * MiB },
  { name: '16 GiB sparse sample, 3 MiB kernel', diskSize: 16 * GiB },
  { name: '16 GiB sparse sample, 32 MiB kernel (a FreeBSD GENERIC-sized one)', diskSize: 16 * GiB, kernelSize: 32 * MiB },
  { name: '16 GiB sparse sample, a at +16 (fails, fix tried)', diskSize: 16 * GiB, partitionOffsetSectors: 16 as const },
]

/** The HVM preflight reads tables, the ESP's FAT and UFS metadata, never a kernel's data: its time should not follow any size. */
const HVM_CASES = [
  { name: 'HVM 128 MiB sample (FreeBSD 14 layout, BIOS and UEFI)', diskSize: 128 * MiB, firmware: 'both' as const },
  { name: 'HVM 16 GiB sparse sample, 32 MiB kernel', diskSize: 16 * GiB, kernelSize: 32 * MiB, firmware: 'both' as const },
  { name: 'HVM 16 GiB sparse sample, UEFI only (BIOS fails)', diskSize: 16 * GiB, firmware: 'uefi' as const },
]

/** First run, then the median of 6 more, each on a fresh read of the file. */
function time(run: () => string): { first: number; median: number; verdict: string } {
  const times: number[] = []
  let verdict = ''
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now()
    verdict = run()
    times.push(performance.now() - t0)
  }
  const [first = 0, ...rest] = times
  rest.sort((a, b) => a - b)
  return { first, median: rest[Math.floor(rest.length / 2)] ?? 0, verdict }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-preflight-'))
try {
  for (const c of HVM_CASES) {
    const path = join(dir, 'hvm.img')
    await writeSampleHvmImage(path, c)
    const onDisk = (await stat(path)).blocks * 512
    const t = time(() => {
      const r = preflightHvmFile(path)
      return `bios ${r.verdicts.bios.boots ? 'boots' : 'fails'}, uefi ${r.verdicts.uefi.boots ? 'boots' : 'fails'}`
    })
    console.log(`${c.name} (${(onDisk / MiB).toFixed(0)} MiB allocated): first ${t.first.toFixed(1)} ms, median of 6 more ${t.median.toFixed(1)} ms; ${t.verdict}`)
    await rm(path)
  }
  for (const c of CASES) {
    const path = join(dir, 'disk.img')
    await writeSampleImage(path, c)
    const onDisk = (await stat(path)).blocks * 512
    const times: number[] = []
    let verdict = ''
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now()
      const r = preflightFile(path, PV)
      times.push(performance.now() - t0)
      verdict = `upstream ${r.verdicts.upstream.boots ? 'boots' : 'fails'}, xcp-ng ${r.verdicts['xcp-ng'].boots ? 'boots' : 'fails'}`
    }
    const [first = 0, ...rest] = times
    rest.sort((a, b) => a - b)
    const median = rest[Math.floor(rest.length / 2)] ?? 0
    console.log(`${c.name} (${(onDisk / MiB).toFixed(0)} MiB allocated): first ${first.toFixed(1)} ms, median of 6 more ${median.toFixed(1)} ms; ${verdict}`)
    await rm(path)
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
