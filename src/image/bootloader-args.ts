import type { PygrubFlavour } from './pygrub.js'

export interface BootloaderArgs {
  kernel?: string
  ramdisk?: string
  args?: string
  offset?: number
  entry?: string
  outputFormat?: string
  quiet: boolean
  notReally: boolean
  listEntries: boolean
  /** Arguments that are not options (pygrub takes the first as the disk). */
  positional: string[]
}

export type BootloaderArgsResult = { ok: true; value: BootloaderArgs } | { ok: false; message: string }

/** Long options of pygrub's getopt call; true = takes a value. */
const UPSTREAM_LONG: Record<string, boolean> = {
  quiet: false,
  interactive: false,
  'list-entries': false,
  'not-really': false,
  help: false,
  output: true,
  'output-format': true,
  'output-directory': true,
  offset: true,
  runas: true,
  entry: true,
  kernel: true,
  ramdisk: true,
  args: true,
  isconfig: false,
  debug: false,
}
/** XCP-ng's add-default-and-extra-args patch, for the arguments XAPI always passes. */
const XCPNG_LONG: Record<string, boolean> = { ...UPSTREAM_LONG, default_args: true, extra_args: true, vm: true }
const SHORT = new Set(['q', 'i', 'l', 'n', 'h'])

/** Python's int() on a decimal string. */
function pyInt(s: string): number | null {
  const t = s.trim()
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null
  const n = Number(t.replace(/_/g, ''))
  return Number.isSafeInteger(n) ? n : null
}

/**
 * Parses PV_bootloader_args the way XAPI hands them to pygrub (split on single
 * spaces) and pygrub reads them (Python getopt.gnu_getopt: long options may be
 * abbreviated, values follow '=' or come as the next argument). Messages are
 * getopt's or pygrub's own.
 */
export function parseBootloaderArgs(input: string | readonly string[], flavour: PygrubFlavour = 'upstream'): BootloaderArgsResult {
  const argv = typeof input === 'string' ? input.split(' ').filter((a) => a !== '') : [...input]
  const long = flavour === 'xcp-ng' ? XCPNG_LONG : UPSTREAM_LONG
  const out: BootloaderArgs = { quiet: false, notReally: false, listEntries: false, positional: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') {
      out.positional.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const given = arg.slice(2, eq < 0 ? undefined : eq)
      const matches = given in long ? [given] : Object.keys(long).filter((k) => k.startsWith(given))
      if (matches.length === 0) return { ok: false, message: `option --${given} not recognized` }
      if (matches.length > 1) return { ok: false, message: `option --${given} not a unique prefix` }
      const name = matches[0] ?? given
      let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1)
      if (long[name] === true && value === undefined) {
        if (i + 1 >= argv.length) return { ok: false, message: `option --${name} requires argument` }
        value = argv[++i]
      }
      if (long[name] === false && value !== undefined) return { ok: false, message: `option --${name} must not have an argument` }
      const bad = apply(out, name, value ?? '')
      if (bad !== null) return { ok: false, message: bad }
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (const ch of arg.slice(1)) {
        if (!SHORT.has(ch)) return { ok: false, message: `option -${ch} not recognized` }
        if (ch === 'h') break // -h takes an optional value glued to it
        apply(out, ch, '')
      }
    } else out.positional.push(arg)
  }
  return { ok: true, value: out }
}

function apply(out: BootloaderArgs, name: string, value: string): string | null {
  switch (name) {
    case 'q':
    case 'quiet':
      out.quiet = true
      break
    case 'n':
    case 'not-really':
      out.notReally = true
      break
    case 'l':
    case 'list-entries':
      out.listEntries = true
      break
    case 'kernel':
      out.kernel = value
      break
    case 'ramdisk':
      out.ramdisk = value
      break
    case 'args':
      out.args = value
      break
    case 'entry':
      out.entry = value
      out.quiet = true
      break
    case 'output-format':
      if (!['sxp', 'simple', 'simple0'].includes(value)) return `unknown output format ${value}`
      out.outputFormat = value
      break
    case 'offset': {
      const n = pyInt(value)
      if (n === null) return 'offset value must be an integer'
      out.offset = n
      break
    }
  }
  return null
}
