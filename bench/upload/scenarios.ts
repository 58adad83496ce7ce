import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { measure, type Measured } from './measure.js'
import { BIN, CREDS, type SimProcess } from './sim.js'
import { ProvisionResult } from '../../src/provision/types.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { splitSegments } from '../../src/upload/resume/segments.js'

export interface Figure extends Measured {
  label: string
  /** HTTP body bytes sent to /import_raw_vdi. */
  wireBytes: number
}

/** What xe vdi-import does: one PUT of the whole raw file with its Content-Length. */
export async function curlUpload(sim: SimProcess, label: string, file: string, vdiSize: number): Promise<Figure> {
  const vdi = await sim.newVdi(vdiSize)
  const url = new URL('/import_raw_vdi', sim.url)
  url.search = new URLSearchParams({ session_id: sim.x.sessionId, vdi, format: 'raw' }).toString()
  const m = await measure('curl', ['-sS', '-o', '/dev/null', '-T', file, '-w', '%{http_code} %{size_upload}', url.href])
  const [status, sent] = m.stdout.trim().split(' ')
  if (m.code !== 0 || status !== '200') throw new Error(`${label}: curl exited ${m.code}, HTTP ${status}: ${m.stderr}`)
  await sim.cleanup()
  return { ...m, label, wireBytes: Number(sent) }
}

/** The shipped recipe with a disk the size of the images and no VM.start (the data is random). */
export async function writeRecipe(dir: string): Promise<string> {
  const path = join(dir, 'bench.yaml')
  await writeFile(
    path,
    [
      'name: bench',
      'vdi: {virtual_size: 16GiB}',
      'memory: {static_min: 128MiB, static_max: 256MiB, dynamic_min: 256MiB, dynamic_max: 256MiB}',
      'pv: {bootloader: pygrub, bootloader_args: --kernel=/boot/kernel/kernel, args: ""}',
      'start: false',
      '',
    ].join('\n'),
  )
  return path
}

export type ProvisionFigure = Figure & { result?: ProvisionResult }

/**
 * The spawned CLI, as a user runs it; `cleanup` false keeps what it made (a resume follows).
 * `bin`: another build's bin/provision.js, to compare builds on the same simulator and load.
 */
export async function provisionRun(sim: SimProcess, label: string, recipe: string, image: string, name: string, cleanup = true, bin = BIN): Promise<ProvisionFigure> {
  const m = await measure(process.execPath, [bin, recipe, '--host', sim.url, '--image', image, '--name', name, '--json', '--skip-preflight'], CREDS)
  let result: ProvisionResult | undefined
  if (m.code === 0) result = ProvisionResult.parse(JSON.parse(m.stdout))
  if (cleanup) await sim.cleanup()
  return { ...m, label, wireBytes: result?.upload.bytes_sent ?? Number.NaN, ...(result ? { result } : {}) }
}

export interface ResumeFigures {
  cutAt: number
  total: number
  first: Figure
  second: ProvisionFigure
}

/**
 * Cuts the connection at 60% of the sparse upload's bytes (every PUT from that segment
 * on is cut at the same point, so the retries fail too and the run gives up), then runs
 * the same command again with the fault gone and reports what the second run sent.
 */
export async function resumeRun(sim: SimProcess, recipe: string, image: string): Promise<ResumeFigures> {
  const segments = splitSegments(await scanDataRegions(image))
  const total = segments.reduce((n, s) => n + s.bodyBytes, 0)
  const cutAt = Math.floor(total * 0.6)
  let before = 0
  const k = segments.findIndex((s) => (before += s.bodyBytes) > cutAt)
  const afterBytes = cutAt - (before - segments[k]!.bodyBytes)
  await sim.faults({ upload: 'cut', afterBytes, nth: k + 1, times: 0 })
  const first = await provisionRun(sim, 'provision, cut at 60%', recipe, image, 'bench-resume', false)
  await sim.faults(undefined)
  if (first.code !== 1 || !/run the same command again to resume/.test(first.stdout)) throw new Error(`the cut run should fail and keep its VDI: ${first.stdout}${first.stderr}`)
  const second = await provisionRun(sim, 'provision, re-run', recipe, image, 'bench-resume')
  return { cutAt, total, first, second }
}
