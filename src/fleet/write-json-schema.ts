import { writeFileSync, mkdirSync } from 'node:fs'
import { z } from 'zod'
import { FleetSchema } from './schema.js'

/** Writes schema/fleet.schema.json for editors (npm run schema); a test keeps it current. */
export function fleetJsonSchema(): unknown {
  return { ...z.toJSONSchema(FleetSchema, { io: 'input', unrepresentable: 'any' }), title: 'xcp-provision fleet' }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  mkdirSync('schema', { recursive: true })
  writeFileSync('schema/fleet.schema.json', JSON.stringify(fleetJsonSchema(), null, 2) + '\n')
  console.log('wrote schema/fleet.schema.json')
}
