import { describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { provision } from '../../src/provision/run.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { UserError } from '../../src/errors.js'
import { IMAGE_KEY, OFFSET_KEY } from '../../src/upload/resume/checkpoint.js'
import type { ProvisionEvent, ProvisionResult } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'
import { MiB } from '../upload/helpers.js'
import { syntheticImage } from './support.js'

/** 1 MiB segments cut the images below (4 MiB of data) into four; retries fail fast. */
const upload = { segmentBytes: MiB, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 10 } }

/** The synthetic disk of the provision tests (16 MiB): no bootable system, so no preflight and no VM.start. */
const image = (seed: number, pieces = 4): Promise<string> => syntheticImage(seed, pieces)
const IMAGE_SIZE = 16 * MiB

async function run(sim: Simulator, image: string, extra: { verify?: boolean; events?: ProvisionEvent[]; signal?: AbortSignal } = {}): Promise<ProvisionResult> {
  const { recipe } = await loadRecipe('freebsd-9')
  const r = await provision({
    recipe: { ...recipe, start: false },
    image,
    url: sim.url,
    ...sim.credentials,
    skipPreflight: true,
    upload,
    verify: extra.verify ?? false,
    onEvent: (e) => extra.events?.push(e),
    ...(extra.signal ? { signal: extra.signal } : {}),
  })
  if ('dry_run' in r) throw new Error('unexpected dry run')
  return r
}

const vdis = (sim: Simulator) => Object.entries(sim.objects().VDI ?? {}).filter(([, v]) => (v.other_config as Record<string, string>)['xcp-provision:vm'] === 'FreeBSD-9.0')

describe('provision resumes a half-uploaded VDI found by the VM name', () => {
  it('keeps the VDI when the upload fails after a checkpoint, and the re-run continues from there', async () => {
    const sim = await withSimulator()
    const img = await image(1)
    sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3, times: 0 })
    const err = (await run(sim, img).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.what).toMatch(/Upload the image failed|Upload of segment 3 of 4/)
    expect(err.info.kept?.[0]).toMatch(/^VDI FreeBSD-9.0-vdi \(OpaqueRef:.*\) holds the image's first \d+ bytes: run the same command again/)
    expect(err.info.fix).toMatch(/the upload resumes where it stopped$/)
    const [kept, rec] = vdis(sim)[0]!
    expect((rec.other_config as Record<string, string>)[OFFSET_KEY]).toMatch(/^\{"offset":\d+\}$/)

    sim.faults.clear()
    const events: ProvisionEvent[] = []
    const r = await run(sim, img, { events })
    expect(r.vdi.ref).toBe(kept)
    expect(r.vm.power_state).toBe('Halted')
    expect(r.upload.resumed_from).toBeGreaterThan(0)
    expect(r.upload.segments).toBe(2)
    expect(r.upload.bytes_sent).toBeLessThan(r.upload.data_bytes * 0.75)
    expect(events).toContainEqual({ type: 'upload-resume', offset: r.upload.resumed_from, image_size: IMAGE_SIZE })
    const oc = (sim.objects().VDI![kept]!.other_config ?? {}) as Record<string, string>
    expect(oc[IMAGE_KEY]).toBeUndefined()
    expect(oc[OFFSET_KEY]).toBeUndefined()
  })

  it('an interrupt during the upload keeps what was uploaded for the next run (exit 130)', async () => {
    const sim = await withSimulator()
    const img = await image(1)
    const stop = new AbortController()
    // Every segment starts 200 ms late, so the upload is still running when its first checkpoint lands: then SIGINT.
    sim.faults.add({ method: 'task.create', delayMs: 200, times: 0 })
    const poll = setInterval(() => vdis(sim).some(([, v]) => OFFSET_KEY in (v.other_config as Record<string, string>)) && stop.abort(), 10)
    const err = (await run(sim, img, { signal: stop.signal }).catch((e: unknown) => e)) as UserError
    clearInterval(poll)
    sim.faults.clear()
    expect(err.info.what).toBe('Interrupted')
    expect(err.info.exitCode).toBe(130)
    expect(err.info.kept?.[0]).toMatch(/holds the image's first \d+ bytes/)
    const r = await run(sim, img)
    expect(r.upload.resumed_from).toBeGreaterThan(0)
  })

  it('never resumes onto a VDI that holds another image: the re-run replaces that unfinished VDI and says so', async () => {
    const sim = await withSimulator()
    const img = await image(1)
    sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3, times: 0 })
    await expect(run(sim, img)).rejects.toBeInstanceOf(UserError)
    sim.faults.clear()
    const [stale, staleRec] = vdis(sim)[0]!

    // Another layout: its blocks are elsewhere, so the old VDI's blocks would survive in its holes.
    const other = await image(7, 5)
    const events: ProvisionEvent[] = []
    const r = await run(sim, other, { events })
    expect(r.vdi.ref).not.toBe(stale)
    expect(r.upload.resumed_from).toBe(0)
    expect(events).toContainEqual({
      type: 'warning',
      message: `removed VDI FreeBSD-9.0-vdi (${String(staleRec.uuid)}), an unfinished upload for "FreeBSD-9.0" that this run cannot resume: it holds part of another image (${IMAGE_SIZE} bytes)`,
    })
    // This tool's own unfinished disk for this name is not kept to leak: exactly one VDI of the name is left, the new one.
    expect(vdis(sim).map(([ref]) => ref)).toEqual([r.vdi.ref])
  })

  it('--verify reads the VDI back and says so in the result', async () => {
    const sim = await withSimulator()
    const r = await run(sim, await image(1), { verify: true })
    expect(r.upload.verified).toBe(true)
    expect(r.steps.map((s) => s.step)).toContain('verify')
    expect(sim.calls().filter((c) => c === 'task.create').length).toBe(5) // four segments and the export
  })
})
