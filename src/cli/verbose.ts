import { setCallTrace } from '../xapi/call-trace.js'
import type { Output } from './output.js'
import { duration } from './units.js'

/** Arguments shown per call: enough to tell calls apart, never a whole record. */
const ARGS_SHOWN = 120

function summarise(args: readonly string[]): string {
  const text = args.join(', ')
  return text.length > ARGS_SHOWN ? `${text.slice(0, ARGS_SHOWN)}…` : text
}

/**
 * --verbose: one stderr line per XAPI request on the wire, the xen-api client's own
 * included (the pool record and method list after each login, logout), with its duration
 * and outcome. The arguments arrive with every secret already replaced (call-trace.ts: the
 * session id that leads most calls, the login's password), so cutting them cannot leave
 * part of one; every line still passes through output.ts's printable().
 */
export function traceCalls(out: Output): void {
  setCallTrace((c) => {
    const outcome = c.error === undefined ? '' : ` -> ${c.error}`
    out.stderr.write(`xapi ${c.method}(${summarise(c.args)}) ${duration(c.ms)}${outcome}\n`)
  })
}
