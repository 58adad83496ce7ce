import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadInventoryFile } from '../../mocks/inventory-file.js'
import { startInventory } from '../../mocks/pools.js'
import type { Simulator } from '../../mocks/simulator.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { provision } from '../../src/provision/run.js'
import type { ProvisionResult } from '../../src/provision/types.js'
import { UserError } from '../../src/errors.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'
import type { Recipe } from '../../src/recipe/schema.js'

const EXAMPLE = fileURLToPath(new URL('../../docs/examples/pool.yaml', import.meta.url))
const running: Simulator[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

async function pool(): Promise<{ sim: Simulator; image: string; recipe: Recipe }> {
  const [sim] = await startInventory(loadInventoryFile(EXAMPLE))
  running.push(sim!)
  const image = join(await mkdtemp(join(tmpdir(), 'pool-')), 'img')
  await writeSampleImage(image, { diskSize: SMALL_PV })
  return { sim: sim!, image, recipe: (await loadRecipe('freebsd-9')).recipe }
}

/** The host name-label of the SR the provisioned VDI landed on, read from the simulator's database. */
function hostOfVdi(sim: Simulator, vdiRef: string): string {
  const objects = sim.objects()
  const sr = String(objects.VDI![vdiRef]!.SR)
  const pbd = Object.values(objects.PBD!).find((p) => p.SR === sr)!
  return String(objects.host![String(pbd.host)]!.name_label)
}

describe('choosing among the "Local storage" SRs of a pool', () => {
  it("uses the pool master's Local storage by default and sr.host when given", async () => {
    const { sim, image, recipe } = await pool()
    const creds = { url: sim.url, ...sim.credentials, image }
    const a = (await provision({ ...creds, recipe, name: 'on-master' })) as ProvisionResult
    expect(hostOfVdi(sim, a.vdi.ref)).toBe('xcp1')
    const b = (await provision({ ...creds, recipe: { ...recipe, sr: { ...recipe.sr, host: 'xcp2' } }, name: 'on-xcp2' })) as ProvisionResult
    expect(hostOfVdi(sim, b.vdi.ref)).toBe('xcp2')
    expect(b.sr.uuid).not.toBe(a.sr.uuid)
  })

  it('uses a shared SR by name, and lists candidates with their hosts for an unknown host', async () => {
    const { sim, image, recipe } = await pool()
    const creds = { url: sim.url, ...sim.credentials, image }
    const nfs = (await provision({ ...creds, recipe: { ...recipe, sr: { name_label: 'NFS storage' } }, name: 'on-nfs' })) as ProvisionResult
    expect(nfs.sr.name_label).toBe('NFS storage')
    const err = await provision({ ...creds, recipe: { ...recipe, sr: { ...recipe.sr, host: 'xcp9' } }, name: 'nowhere' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    const info = (err as UserError).info
    expect(info.why).toContain('no host is named "xcp9"')
    expect(info.why).toMatch(/on xcp1.*on xcp2.*on xcp3|on xcp\d/)
    expect(info.fix).toContain('sr.host')
  })
})
