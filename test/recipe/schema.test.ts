import { describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { loadRecipe } from '../../src/recipe/load.js'
import { RecipeSchema } from '../../src/recipe/schema.js'
import { parseSize } from '../../src/recipe/size.js'
import { recipeJsonSchema } from '../../src/recipe/write-json-schema.js'
import { UserError } from '../../src/errors.js'

async function recipeFile(text: string, ext = '.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recipe-'))
  const file = join(dir, `r${ext}`)
  await writeFile(file, text)
  return file
}

describe('recipe', () => {
  it('loads the shipped freebsd-9 recipe with the HOWTO values', async () => {
    const { recipe } = await loadRecipe('freebsd-9')
    expect(recipe.sr.name_label).toBe('Local storage')
    expect(recipe.vdi).toEqual({ name_label: '{name}-vdi', virtual_size: 11 * 1024 ** 3, type: 'system' })
    expect(recipe.template).toBe('Other install media')
    expect(recipe.memory).toEqual({ static_min: 128 * 2 ** 20, static_max: 256 * 2 ** 20, dynamic_min: 256 * 2 ** 20, dynamic_max: 256 * 2 ** 20 })
    expect(recipe.vcpus).toBe(1)
    expect(recipe.pv).toEqual({ bootloader: 'pygrub', bootloader_args: '--kernel=/boot/kernel/kernel', args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' })
    expect(recipe.other_config).toEqual({ disable_pv_vnc: '1' })
    expect(recipe.network).toEqual({ bridge: 'xenbr0', device: '0', mac: 'derived' })
    expect(recipe.disk).toEqual({ device: '0', bootable: true, mode: 'RW', type: 'Disk' })
    expect(recipe.start).toBe(true)
  })

  it('names the file, the field path and the reason for a bad field', async () => {
    const file = await recipeFile(
      'name: x\nvdi: {virtual_size: 10GB}\nmemory: {static_min: 128MiB, static_max: 256MiB, dynamic_min: 256MiB, dynamic_max: 256MiB}\npv: {}\nnetwork: {mac: "00:16:3e:zz:00:00"}\n',
    )
    const err = await loadRecipe(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    const info = (err as UserError).info
    expect(info.what).toContain(file)
    expect(info.why).toContain('vdi.virtual_size: unknown unit "GB" in "10GB" (did you mean GiB?)')
    expect(info.why).toContain('network.mac')
    expect(info.exitCode).toBe(3)
  })

  it('refuses memory limits XAPI would refuse, and unknown fields', () => {
    const base = { name: 'x', vdi: { virtual_size: 1024 }, pv: {}, memory: { static_min: '256MiB', static_max: '128MiB', dynamic_min: '256MiB', dynamic_max: '256MiB' } }
    const r = RecipeSchema.safeParse(base)
    expect(r.success).toBe(false)
    expect(JSON.stringify(r.error?.issues)).toContain('static_min <= dynamic_min')
    const r2 = RecipeSchema.safeParse({ ...base, memory: { static_min: '128MiB', static_max: '256MiB', dynamic_min: '256MiB', dynamic_max: '256MiB' }, colour: 'red' })
    expect(r2.success).toBe(false)
  })

  it('reports YAML syntax errors with the file', async () => {
    const file = await recipeFile('name: [unclosed\n')
    await expect(loadRecipe(file)).rejects.toThrow(/not valid YAML/)
  })

  it('accepts JSON recipes', async () => {
    const file = await recipeFile(
      JSON.stringify({ name: 'j', vdi: { virtual_size: '1GiB' }, pv: {}, memory: { static_min: '128MiB', static_max: '256MiB', dynamic_min: '256MiB', dynamic_max: '256MiB' } }),
      '.json',
    )
    expect((await loadRecipe(file)).recipe.vdi.virtual_size).toBe(2 ** 30)
  })

  it('parses sizes in bytes and binary units only', () => {
    expect(parseSize('11GiB')).toBe(11 * 2 ** 30)
    expect(parseSize(' 256 MiB ')).toBe(256 * 2 ** 20)
    expect(parseSize(4096)).toBe(4096)
    expect(parseSize('1.5KiB')).toBe(1536)
    expect(parseSize('10GB')).toMatch(/did you mean GiB/)
    expect(parseSize('-1')).toMatch(/not a size/)
    expect(parseSize(1.5)).toMatch(/whole/)
  })

  it('keeps schema/recipe.schema.json in step with the zod schema', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/recipe.schema.json', import.meta.url), 'utf8')) as unknown
    expect(committed).toEqual(recipeJsonSchema())
  })
})
