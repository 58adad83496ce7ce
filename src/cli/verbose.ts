import { setCallTrace } from '../xapi/call-trace.js'
import type { Output } from './output.js'
import { duration } from './units.js'

/** Arguments shown per call: enough to tell calls apart, never a whole record. */
const ARGS_SHOWN = 120

function summarise(args: readonly unknown[]): string {
  const text = args.map((a) => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)))).join(', ')
  return text.length > ARGS_SHOWN ? `${text.slice(0, ARGS_SHOWN)}…` : text
}

/**
 * --verbose: one stderr line per XAPI call, with its duration and outcome. The session
 * id is never among the arguments (the client adds it), and every line still passes
 * through output.ts's printable(), which redacts any secret a host echoed.
 */
export function traceCalls(out: Output): void {
  setCallTrace((c) => {
    const outcome = c.error === undefined ? '' : ` -> ${c.error}`
    out.stderr.write(`xapi ${c.method}(${summarise(c.args)}) ${duration(c.ms)}${outcome}\n`)
  })
}
