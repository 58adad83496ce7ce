import { allHandlers, SERVED_CLASSES } from './classes/index.js'
import { classDef } from './datamodel/model.js'

/**
 * The simulator's surface against the datamodel, moto's coverage file for XAPI: per
 * class, which explicit messages have a body and how many implicit ones (accessors,
 * constructors) are served. docs/simulator.md embeds it; a test keeps it current.
 */
export function coverageTable(): string {
  const handlers = allHandlers()
  const rows = SERVED_CLASSES.map((cls) => {
    const messages = classDef(cls).messages
    const has = (name: string): boolean => `${cls}.${name}` in handlers
    const implicit = messages.filter((m) => m.implicit)
    const explicit = messages.filter((m) => !m.implicit)
    const done = explicit.filter((m) => has(m.name)).map((m) => m.name).sort()
    return `| ${cls} | ${implicit.filter((m) => has(m.name)).length}/${implicit.length} | ${done.length}/${explicit.length} | ${done.join(', ') || '–'} |`
  })
  return ['| class | implicit | explicit | explicit messages implemented |', '|---|---|---|---|', ...rows].join('\n')
}

export const COVERAGE_START = '<!-- coverage:start (npx tsx scripts/coverage.ts --write) -->'
export const COVERAGE_END = '<!-- coverage:end -->'
