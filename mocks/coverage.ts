import { allHandlers, SERVED_CLASSES } from './classes/index.js'
import { classDef, datamodel } from './datamodel/model.js'

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
    const done = explicit
      .filter((m) => has(m.name))
      .map((m) => m.name)
      .sort()
    return `| ${cls} | ${implicit.filter((m) => has(m.name)).length}/${implicit.length} | ${done.length}/${explicit.length} | ${done.join(', ') || '–'} |`
  })
  return [coverageSummary(), '', '| class | implicit | explicit | explicit messages implemented |', '|---|---|---|---|', ...rows].join('\n')
}

/**
 * The headline against all of xenapi.json (every class, served or not): classes with at
 * least one message served, and messages served (accessors included) out of all of them.
 */
export function coverageSummary(): string {
  const handlers = allHandlers()
  const catalogue = Object.entries(datamodel.catalogue)
  const total = catalogue.reduce((n, [, ms]) => n + ms.length, 0)
  const served = catalogue.reduce((n, [cls, ms]) => n + ms.filter((m) => `${cls}.${m}` in handlers).length, 0)
  const classes = catalogue.filter(([cls, ms]) => ms.some((m) => `${cls}.${m}` in handlers)).length
  const explicit = SERVED_CLASSES.flatMap((cls) =>
    classDef(cls)
      .messages.filter((m) => !m.implicit)
      .map((m) => `${cls}.${m.name}`),
  )
  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)} %`
  return [
    `Classes served: **${classes} of ${catalogue.length}**. Messages served: **${served} of ${total}** (${pct(served, total)}) across all of xenapi.json;`,
    `of the served classes' explicit (non-accessor) messages, ${explicit.filter((k) => k in handlers).length} of ${explicit.length}.`,
  ].join('\n')
}

export const COVERAGE_START = '<!-- coverage:start (npx tsx scripts/coverage.ts --write) -->'
export const COVERAGE_END = '<!-- coverage:end -->'
