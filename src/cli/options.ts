/**
 * Option tables: each command lists exactly the options it takes (commands.ts), built
 * from these groups, and parse.ts refuses anything else. Plain data with no imports, so
 * --help and each command's help load nothing heavy (docs/design.md, start-up).
 */
export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
  /** The value's placeholder in help: "--host <host>". */
  arg?: string
  help: string
}

export type OptionTable = Record<string, OptionSpec>

/** Every command takes these. */
export const COMMON: OptionTable = {
  help: { type: 'boolean', short: 'h', help: "this command's help, with examples" },
  quiet: { type: 'boolean', short: 'q', help: 'print only the result, warnings and errors (or XCP_PROVISION_LOG=quiet)' },
  verbose: { type: 'boolean', short: 'v', help: 'also print each XAPI call and how long it took (or XCP_PROVISION_LOG=verbose)' },
}

export const JSON_OUT: OptionTable = {
  json: { type: 'boolean', help: 'print one JSON object on stdout at the end (errors too, with error.code)' },
}

export const DRY_RUN: OptionTable = {
  'dry-run': { type: 'boolean', help: 'look things up, then print what it would do; change nothing' },
}

/** Consent to a plan that halts, reboots or replaces VMs (src/provision/consent.ts). */
export const CONSENT: OptionTable = {
  yes: { type: 'boolean', short: 'y', help: 'apply a plan that halts, reboots or replaces VMs without asking (needed when there is no terminal to ask on)' },
}

/** Talking to one host: where, how to trust it, and the password file. */
export const CONNECTION: OptionTable = {
  host: { type: 'string', arg: 'host', help: '"sim" (an embedded simulator), a name (https://<name>/), name:port, or a URL (default: XAPI_HOST)' },
  fingerprint: { type: 'string', arg: 'fp', help: "pin the host's self-signed certificate: sha256:<hex> (or XAPI_FINGERPRINT)" },
  insecure: { type: 'boolean', help: "accept the host's TLS certificate without verifying it" },
  'password-file': { type: 'string', arg: 'file', help: 'read the password from the first line of a file' },
}

/** The limits of src/xapi/timeouts.ts (parsed by timeout-options.ts). */
export const TIMEOUTS: OptionTable = {
  'timeout-connect': { type: 'string', arg: 's', help: 'TCP connect + TLS handshake limit (default 30; or XAPI_TIMEOUT_CONNECT)' },
  'timeout-response': { type: 'string', arg: 's', help: 'limit for a whole XAPI answer (default 120; or XAPI_TIMEOUT_RESPONSE)' },
  'timeout-idle': { type: 'string', arg: 's', help: 'no byte moving for this long ends a transfer (default 120; or XAPI_TIMEOUT_IDLE)' },
}

/** What node:util parseArgs takes: the same table without the help words. */
export function parseArgsOptions(table: OptionTable): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {}
  for (const [name, o] of Object.entries(table)) out[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }
  return out
}
