import { parseArgs } from 'node:util'
import { UserError } from '../errors.js'
import { COMMANDS, commandNamed, type CommandSpec } from './commands.js'
import { parseArgsOptions, type OptionTable } from './options.js'
import { closest } from './suggest.js'

export type OptionValues = Record<string, string | boolean | string[] | undefined>

export interface ParsedCommand {
  command: CommandSpec
  values: OptionValues
  positionals: string[]
}

/** Every option any command takes: only to tell which word is the command (an option's value is not). */
function everyOption(): OptionTable {
  return Object.assign({}, ...COMMANDS.map((c) => c.options)) as OptionTable
}

/**
 * The command is the first word that is not an option or an option's value, so options
 * may come first ("provision --host sim freebsd-9"); a word that names no command is the
 * default command's recipe.
 */
export function splitCommand(argv: string[]): { command: CommandSpec; args: string[] } {
  const { tokens } = parseArgs({ args: argv, options: parseArgsOptions(everyOption()), strict: false, allowPositionals: true, tokens: true })
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator')
  const named = first?.kind === 'positional' ? commandNamed(first.value) : undefined
  if (!named || !first) return { command: commandNamed('provision')!, args: argv }
  return { command: named, args: argv.filter((_, i) => i !== first.index) }
}

/**
 * Where an option of another command is asked of this one, the advice says what this
 * command takes instead (so no error sends a user to a flag that would be refused).
 */
const INSTEAD: Record<string, Record<string, string>> = {
  rollout: {
    'fix-offset': "set pv.bootloader_args in the recipe the group uses to the value the preflight's error gives (--skip-preflight uploads without the check)",
    host: "each pool's url is in the fleet file (pools.<name>.url)",
    name: 'VM names come from the fleet file (groups.<name>.names)',
    image: 'set image in the fleet group, or in the recipe',
    'password-file': "the fleet file names each pool's credential variables (user_env, password_env)",
    insecure: "a rollout always verifies TLS: pin a self-signed certificate with the pool's fingerprint in the fleet file",
    fingerprint: "set the pool's fingerprint in the fleet file",
  },
  'check-image': {
    host: 'check-image reads a local file and talks to no host; provision --dry-run checks an image against a host',
    image: 'give the image as the argument: provision check-image <file>',
  },
}

function unknownOption(cmd: CommandSpec, raw: string, name: string): UserError {
  const shown = raw.startsWith('--') ? `--${name}` : raw
  const owners = COMMANDS.filter((c) => c !== cmd && name in c.options && raw.startsWith('--')).map((c) => c.name)
  const long = Object.keys(cmd.options).map((o) => `--${o}`)
  const guess = raw.startsWith('--') ? closest(shown, long) : undefined
  const label = cmd.name === 'provision' ? 'provision' : `provision ${cmd.name}`
  const instead = INSTEAD[cmd.name]?.[name]
  return new UserError({
    what: `Unknown option ${shown} for ${label}`,
    why: owners.length ? `${shown} is an option of ${owners.map((o) => (o === 'provision' ? 'provision <recipe>' : `provision ${o}`)).join(' and ')}, not of ${label}` : `${label} takes no ${shown}`,
    fix: instead ?? (guess ? `did you mean ${guess}? (${label} --help lists its options)` : `see ${label} --help for the options it takes`),
    code: 'bad-argument',
  })
}

/** Parses a command's arguments against its own table only: anything else is exit 2, with a did-you-mean. */
export function parseCommand(cmd: CommandSpec, args: string[]): ParsedCommand {
  const options = parseArgsOptions(cmd.options)
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
  for (const t of tokens) {
    if (t.kind === 'option' && !(t.name in cmd.options)) throw unknownOption(cmd, t.rawName, t.name)
  }
  const label = cmd.name === 'provision' ? 'provision' : `provision ${cmd.name}`
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true })
    return { command: cmd, values: values as OptionValues, positionals }
  } catch (e) {
    if (!(e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))) throw e
    // node's words ("Option '--host <value>' argument missing") name the option and the problem.
    return badArgument(e.message, label)
  }
}

function badArgument(message: string, label: string): never {
  throw new UserError({ what: 'Bad arguments', why: message.split('\n')[0] ?? message, fix: `see ${label} --help`, code: 'bad-argument' })
}
