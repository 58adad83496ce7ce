import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFirstBootRecipe } from '../../bench/soak-provision.js'

/**
 * An HVM recipe (freebsd-14: UEFI, freebsd-13: BIOS) with a NoCloud config drive whose
 * user data writes vm-data/ready=yes, and a xenstore key: every step the first-boot work
 * added runs. The soak's own recipe (bench/soak-provision.ts), for the fault rows and
 * kill points of those steps.
 */
export async function firstBootRecipe(o: { recipe?: 'freebsd-14' | 'freebsd-13'; removeAfter?: 'never' | 'ready'; dir?: string } = {}): Promise<string> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'first-boot-recipe-')))
  return writeFirstBootRecipe(join(dir, `${o.recipe ?? 'freebsd-14'}-${o.removeAfter ?? 'never'}.yaml`), o)
}
