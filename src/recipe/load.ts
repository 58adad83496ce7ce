import { readFile } from 'node:fs/promises'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { RecipeSchema, type Recipe } from './schema.js'
import { UserError, EXIT } from '../errors.js'
import { packageRoot } from '../paths.js'

/** Recipes shipped with the package, found by name: `provision freebsd-9`. */
export const BUILTIN_RECIPES = join(packageRoot(), 'recipes')

export interface LoadedRecipe {
  file: string
  recipe: Recipe
}

/** A name (freebsd-9), or a path to a .yaml / .yml / .json file. */
export function resolveRecipePath(nameOrPath: string, cwd = process.cwd()): string {
  if (/[\\/]|\.(ya?ml|json)$/.test(nameOrPath)) return isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath)
  for (const ext of ['.yaml', '.yml', '.json']) {
    const p = join(BUILTIN_RECIPES, nameOrPath + ext)
    if (existsSync(p)) return p
  }
  const names = existsSync(BUILTIN_RECIPES)
    ? readdirSync(BUILTIN_RECIPES)
        .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('fleet'))
        .map((f) => f.replace(/\.(ya?ml|json)$/, ''))
        .sort()
    : []
  throw new UserError({
    what: `No recipe named "${nameOrPath}"`,
    why: `there is no ${nameOrPath}.yaml, .yml or .json in ${BUILTIN_RECIPES} (a word that is not a command is read as a recipe)`,
    fix: `give one of ${names.join(', ') || 'the recipes in that folder'}, a path to a recipe file, or a command (provision --help)`,
    code: 'recipe-not-found',
  })
}

export async function loadRecipe(nameOrPath: string, cwd = process.cwd()): Promise<LoadedRecipe> {
  const file = resolveRecipePath(nameOrPath, cwd)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT'
    throw new UserError({
      what: missing ? `No recipe file ${file}` : `Cannot read recipe ${file}`,
      why: (e as Error).message,
      fix: 'check the path and permissions',
      code: missing ? 'recipe-not-found' : 'recipe-invalid',
    })
  }
  let data: unknown
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    throw new UserError({
      what: `Recipe ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}`,
      why: (e as Error).message,
      fix: 'fix the syntax at the position given',
      code: 'recipe-invalid',
      exitCode: EXIT.badRecipe,
    })
  }
  const r = RecipeSchema.safeParse(data)
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    throw new UserError({
      what: `Recipe ${file} is invalid`,
      why: lines.join('; '),
      fix: `edit the field${lines.length > 1 ? 's' : ''} named above (the JSON Schema in schema/recipe.schema.json lists every field)`,
      code: 'recipe-invalid',
      exitCode: EXIT.badRecipe,
    })
  }
  const recipe = r.data
  if (recipe.image && !isAbsolute(recipe.image)) recipe.image = resolve(dirname(file), recipe.image)
  const ci = recipe.cloud_init
  if (ci?.user_data_file && !isAbsolute(ci.user_data_file)) ci.user_data_file = resolve(dirname(file), ci.user_data_file)
  return { file, recipe }
}
