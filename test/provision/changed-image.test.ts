import { describe, expect, it } from 'vitest'
import { open } from 'node:fs/promises'
import { withSimulator } from '../support/simulator.js'
import { UserError } from '../../src/errors.js'
import type { Simulator } from '../../mocks/simulator.js'
import { MiB } from '../upload/helpers.js'
import { runProvision, syntheticImage } from './support.js'

const ours = (sim: Simulator): string[] =>
  Object.entries(sim.objects().VDI ?? {})
    .filter(([, v]) => (v.other_config as Record<string, string>)['xcp-provision:vm'] === 'FreeBSD-9.0')
    .map(([r]) => r)

/** Writes 64 KiB of data into what was a hole: the image's layout changes, not only its content. */
async function scribble(path: string): Promise<void> {
  const fh = await open(path, 'r+')
  await fh.write(Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, 60 * MiB)
  await fh.close()
}

describe('an image that changes while it is uploaded', () => {
  it('is not kept for a resume that could not happen: the VDI is rolled back, the message says why, and the re-run makes one VDI', async () => {
    const sim = await withSimulator()
    const img = await syntheticImage(3, 4, 64 * MiB)
    // The second segment is held while the image is rewritten: the upload is under way for
    // certain (a 400 ms delay stood here, which a writer slowed on a loaded machine could miss).
    const hold = sim.faults.hold('task.create', { nth: 2 })
    const running = runProvision(sim, img).catch((e: unknown) => e)
    await Promise.race([hold.reached, running])
    await scribble(img)
    hold.release()
    const err = (await running) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.info.why).toContain('was modified during the upload')
    expect(`${err.info.fix} ${(err.info.kept ?? []).join(' ')}`).not.toMatch(/resume from there|resumes where it stopped/)
    expect(err.info.kept).toEqual([])
    expect(err.info.removed?.some((r) => r.startsWith('VDI FreeBSD-9.0-vdi'))).toBe(true)
    expect(ours(sim)).toEqual([])

    const r = await runProvision(sim, img)
    expect(r.upload.resumed_from).toBe(0)
    expect(ours(sim)).toEqual([r.vdi.ref])
  })
})
