import { UserError, EXIT } from '../errors.js'
import { DEFAULT_TIMEOUTS, TIMEOUT_OPTIONS, type Timeouts } from '../xapi/timeouts.js'

/** The environment variable for each limit: for a whole shell session or a CI job. */
const ENV: Record<keyof Timeouts, string> = {
  connectMs: 'XAPI_TIMEOUT_CONNECT',
  responseMs: 'XAPI_TIMEOUT_RESPONSE',
  idleMs: 'XAPI_TIMEOUT_IDLE',
}

/**
 * --timeout-connect, --timeout-response, --timeout-idle (seconds, decimals allowed),
 * else XAPI_TIMEOUT_* from the environment, else the defaults of src/xapi/timeouts.ts.
 */
export function timeoutsFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Timeouts {
  const out: Timeouts = { ...DEFAULT_TIMEOUTS }
  for (const key of Object.keys(TIMEOUT_OPTIONS) as (keyof Timeouts)[]) {
    const option = TIMEOUT_OPTIONS[key]
    const given = values[option.slice(2)]
    const [raw, source] = typeof given === 'string' ? [given, option] : [env[ENV[key]], ENV[key]]
    if (raw === undefined || raw === '') continue
    const s = Number(raw)
    if (!Number.isFinite(s) || s <= 0 || s > 86_400) {
      throw new UserError({
        what: `${source} "${raw}" is not a timeout`,
        why: 'it must be a number of seconds above 0 and at most 86400 (one day)',
        fix: `write e.g. ${option} ${DEFAULT_TIMEOUTS[key] / 1000} (the default)`,
        exitCode: EXIT.usage,
      })
    }
    out[key] = Math.round(s * 1000)
  }
  return out
}
