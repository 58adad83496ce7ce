import { join } from 'node:path'
import type { Simulator } from '../../../mocks/simulator.js'
import type { ConvertOptions } from '../../../src/convert/run.js'
import { writeSampleImage } from '../../../src/image/write-image.js'
import { SMALL_PV } from '../../support/sample-images.js'
import { provision } from '../../../src/provision/run.js'
import { loadRecipe } from '../../../src/recipe/load.js'
import * as VM from '../../../src/xapi/vm.js'
import { connectTo } from '../../support/simulator.js'
import { fixedGuestFiles, mbrGuest, readImage } from './guests.js'

export const NAME = 'FreeBSD-9.0'

/** The HOWTO's PV guest on a simulated XCP-ng 8.2, from the sample image, halted. */
export async function pvGuest(sim: Simulator, dir: string): Promise<{ vm: string; vdi: string }> {
  const image = join(dir, 'sample.img')
  await writeSampleImage(image, { diskSize: SMALL_PV })
  const { recipe } = await loadRecipe('freebsd-9')
  const r = await provision({ recipe, image, url: sim.url, ...sim.credentials, name: NAME, dryRun: false, keepOnFailure: false, skipPreflight: false, fixOffset: false, verify: false })
  if ('dry_run' in r) throw new Error('dry run')
  await VM.hard_shutdown(await connectTo(sim), r.vm.ref)
  const vbd = Object.values(sim.objects().VBD ?? {}).find((v) => v.VM === r.vm.ref)!
  return { vm: r.vm.ref, vdi: String(vbd.VDI) }
}

/** What the guest's own fixes write to its disk while it runs PV (the test stands in for the guest). */
export function fixInsideGuest(sim: Simulator, vdi: string, dir: string): Buffer {
  const fixed = readImage(mbrGuest(dir, 'fixed', fixedGuestFiles(), { version: 1, aOffset: 0 }).path)
  sim.state.disks.get(vdi)!.write(0, fixed)
  return fixed
}

export const opts = (sim: Simulator, o: Partial<ConvertOptions> = {}): ConvertOptions => ({
  url: sim.url,
  ...sim.credentials,
  tls: { kind: 'verify' },
  vm: NAME,
  dryRun: false,
  installBootcode: false,
  undo: false,
  ...o,
})
