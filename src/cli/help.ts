import { COMMANDS, type CommandSpec } from './commands.js'
import { COMMON, type OptionSpec } from './options.js'

/**
 * Help text, made from the command tables (commands.ts) so that what help lists is what
 * the parser takes. Imports nothing heavy: --help loads no dependency (docs/design.md).
 */

const EXITS = 'Exit codes: 0 success, 1 a step failed, 2 bad arguments, 3 bad recipe or fleet file, 130 interrupted (docs/cli.md lists every error code).'

const CREDENTIALS = `Credentials, the same rule for every command that logs in: the user is XAPI_USER (default root);
the password comes from --password-file, else XAPI_PASSWORD (environment, then ./.env), else a prompt
on a terminal. Never put the password in an argument. XAPI_HOST is the default for --host.
Output: XCP_PROVISION_LOG=quiet|verbose as --quiet/--verbose; NO_COLOR or TERM=dumb: no colour.`

function optionLine(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` <${o.arg}>` : ''}`
  return flag.length < 26 ? `  ${flag.padEnd(26)}${o.help}` : `  ${flag}\n  ${''.padEnd(26)}${o.help}`
}

/** `provision <command> --help` and `provision help <command>`. */
export function commandHelp(c: CommandSpec): string {
  const own = Object.entries(c.options).filter(([n]) => !(n in COMMON))
  const lines = [`provision ${c.name === 'provision' ? '' : `${c.name}: `}${c.summary}`, '', 'Usage:', ...c.usage.map((u) => `  provision ${u}`), '']
  if (c.about.length) lines.push(...c.about, '')
  if (own.length) lines.push('Options:', ...own.map(([n, o]) => optionLine(n, o)), '')
  lines.push('Common options:', ...Object.entries(COMMON).map(([n, o]) => optionLine(n, o)), '')
  if (c.examples.length) lines.push('Examples:', ...c.examples.map((e) => `  ${e}`), '')
  if ('host' in c.options) lines.push(CREDENTIALS, '')
  lines.push(c.exits.length ? `${EXITS}\n${c.name}: ${c.exits.join('; ')}.` : EXITS)
  return `${lines.join('\n')}\n`
}

/** `provision --help`, `provision help` and `provision` alone. */
export function overviewHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage[0]!.length))
  const lines = [
    'provision: provision VMs (HVM BIOS/UEFI, PVH, legacy PV) on XCP-ng / XenServer over XAPI',
    '',
    'Usage:',
    ...COMMANDS.map((c) => `  provision ${c.usage[0]!.padEnd(Math.min(width, 44))}  ${c.summary}`),
    '  provision --help | --version',
    '',
    '"provision <command> --help" (or "provision help <command>") shows a command\'s options and examples.',
    '',
    'Examples:',
    '  provision freebsd-14 --host sim',
    "  provision freebsd-9 --host sim          (the HOWTO's PV guest on a simulated XCP-ng 8.2)",
    '  provision freebsd-9 --host xcp1 --image ./FreeBSD-PV.img --name web-01',
    '  provision rollout recipes/fleet-web.yaml --dry-run',
    '  provision check-image ./FreeBSD-PV.img --recipe freebsd-9',
    '  provision sim --port 8080',
    '',
    CREDENTIALS,
    '',
    EXITS,
  ]
  return `${lines.join('\n')}\n`
}
