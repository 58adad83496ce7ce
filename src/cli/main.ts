import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../paths.js'
import { overviewHelp } from './help.js'
import { loadDotEnv } from './env.js'
import { guardStream, printError, useColour, type LogLevel, type Output } from './output.js'
import { registerSecret } from '../xapi/secrets.js'
import { parseCommand, splitCommand } from './parse.js'
import { runCommand } from './run-command.js'
import { UserError } from '../errors.js'
// Every command loads on use (zod, got, xen-api, yaml cost ~0.5 s of CPU): --version and --help
// load only this file's small imports; a provision run loads only what it needs (docs/design.md, start-up).

/** --quiet / --verbose win over XCP_PROVISION_LOG (for a whole CI job). */
function logLevel(values: Record<string, unknown>, env: NodeJS.ProcessEnv): LogLevel {
  if (values.quiet === true && values.verbose === true) {
    throw new UserError({ what: '--quiet and --verbose together', why: 'one prints less, the other more', fix: 'keep one of them', code: 'bad-argument' })
  }
  if (values.quiet === true) return 'quiet'
  if (values.verbose === true) return 'verbose'
  const v = env.XCP_PROVISION_LOG
  if (v === undefined || v === '' || v === 'normal') return 'normal'
  if (v === 'quiet' || v === 'verbose') return v
  throw new UserError({
    what: `XCP_PROVISION_LOG=${v} is not a log level`,
    why: 'it takes quiet, normal or verbose',
    fix: 'set XCP_PROVISION_LOG=quiet (or verbose), or unset it',
    code: 'bad-argument',
  })
}

export async function main(argv: string[]): Promise<number> {
  // Before anything can print: every byte on stdout and stderr goes through the one formatter.
  guardStream(process.stdout)
  guardStream(process.stderr)
  const out: Output = { json: argv.includes('--json'), stdout: process.stdout, stderr: process.stderr, level: 'normal', colour: useColour(process.stderr) }
  try {
    // `provision` alone, like gh and npm: the overview, exit 0.
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
      process.stdout.write(overviewHelp())
      return 0
    }
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
      process.stdout.write(`${pkg.version}\n`)
      return 0
    }
    const { command, args } = splitCommand(argv)
    const parsed = parseCommand(command, args)
    out.json = parsed.values.json === true
    loadDotEnv()
    registerSecret(process.env.XAPI_PASSWORD)
    out.level = logLevel(parsed.values, process.env)
    if (out.level === 'verbose') (await import('./verbose.js')).traceCalls(out)
    return await runCommand(parsed, out)
  } catch (e) {
    return printError(out, e)
  }
}
