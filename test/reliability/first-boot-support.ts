import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * An HVM recipe (freebsd-14: UEFI, freebsd-13: BIOS) with a NoCloud config drive whose
 * user data writes vm-data/ready=yes, and a xenstore key: every step the first-boot work
 * added runs. For the fault rows and kill points of those steps.
 */
export async function firstBootRecipe(o: { recipe?: 'freebsd-14' | 'freebsd-13'; removeAfter?: 'never' | 'ready'; dir?: string } = {}): Promise<string> {
  const recipe = o.recipe ?? 'freebsd-14'
  const base = await readFile(fileURLToPath(new URL(`../../recipes/${recipe}.yaml`, import.meta.url)), 'utf8')
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'first-boot-recipe-')))
  const file = join(dir, `${recipe}-${o.removeAfter ?? 'never'}.yaml`)
  await writeFile(
    file,
    `${base}
cloud_init:
  user_data: |
    #cloud-config
    runcmd:
      - xenstore-write vm-data/ready yes
  remove_after: ${o.removeAfter ?? 'never'}
xenstore:
  vm-data/role: web
`,
  )
  return file
}
