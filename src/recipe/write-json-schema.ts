import { writeFileSync, mkdirSync } from 'node:fs'
import { z } from 'zod'
import { RecipeSchema } from './schema.js'

/** Writes schema/recipe.schema.json for editors (npm run schema); a test keeps it current. */
export function recipeJsonSchema(): unknown {
  return { ...z.toJSONSchema(RecipeSchema, { io: 'input', unrepresentable: 'any' }), title: 'xcp-provision recipe' }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  mkdirSync('schema', { recursive: true })
  writeFileSync('schema/recipe.schema.json', JSON.stringify(recipeJsonSchema(), null, 2) + '\n')
  console.log('wrote schema/recipe.schema.json')
}
