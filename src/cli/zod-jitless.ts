import { config } from 'zod'

/**
 * zod 4 compiles a parser with `new Function` on an object schema's first parse, which
 * pays only from the second parse on. A CLI run parses most schemas once (the recipe, a
 * few XAPI records), so compiling cost more than it saved: the recipe's parse took 31 ms
 * of CPU with it and 23 without. The flag is read when a schema is built, so this runs
 * before any command module (run-command.ts); the library (src/index.ts) keeps zod's default.
 */
config({ jitless: true })
