import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UserError, EXIT } from '../errors.js'
import { packageRoot } from '../paths.js'
import { HELP } from './help.js'
import { loadDotEnv } from './env.js'
import { guardStream, printError, printResult, type Output } from './output.js'
import { registerSecret } from '../xapi/secrets.js'
import { timeoutsFrom } from './timeout-options.js'
import { waitOptions } from '../wait/options.js'
// Every command loads on use (zod, got, xen-api, yaml cost ~0.5 s of CPU): --version and --help
// load only this file's small imports; a provision run loads only what it needs (docs/design.md, start-up).

export async function main(argv: string[]): Promise<number> {
  // Before anything can print: every byte on stdout and stderr goes through the one formatter.
  guardStream(process.stdout)
  guardStream(process.stderr)
  const out: Output = { json: argv.includes('--json'), stdout: process.stdout, stderr: process.stderr }
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        name: { type: 'string' },
        image: { type: 'string' },
        json: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        'keep-on-failure': { type: 'boolean', default: false },
        insecure: { type: 'boolean', default: false },
        'password-file': { type: 'string' },
        recipe: { type: 'string' },
        flavour: { type: 'string' },
        firmware: { type: 'string' },
        'skip-preflight': { type: 'boolean', default: false },
        'fix-offset': { type: 'boolean', default: false },
        verify: { type: 'boolean', default: false },
        fingerprint: { type: 'string' },
        concurrency: { type: 'string' },
        'fail-fast': { type: 'boolean', default: false },
        reconcile: { type: 'boolean', default: false },
        port: { type: 'string' },
        listen: { type: 'string' },
        inventory: { type: 'string' },
        'state-file': { type: 'string' },
        profile: { type: 'string' },
        'sim-profile': { type: 'string' },
        'timeout-connect': { type: 'string' },
        'timeout-response': { type: 'string' },
        'timeout-idle': { type: 'string' },
        'install-bootcode': { type: 'boolean', default: false },
        undo: { type: 'boolean', default: false },
        'max-read': { type: 'string' },
        wait: { type: 'string', multiple: true },
        'wait-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
      },
    }).valueOf() as { values: Record<string, string | boolean | undefined>; positionals: string[] }
    if (values.help) {
      process.stdout.write(HELP)
      return 0
    }
    if (values.version) {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
      process.stdout.write(`${pkg.version}\n`)
      return 0
    }
    loadDotEnv()
    registerSecret(process.env.XAPI_PASSWORD)
    const [command, ...rest] = positionals
    const timeouts = timeoutsFrom(values)
    if (command === 'check-image') {
      const [{ runCheckImage }, { printCheckImage }] = await Promise.all([import('./check-image-command.js'), import('./check-image-output.js')])
      return printCheckImage(out, await runCheckImage({ files: rest, recipe: values.recipe as string | undefined, flavour: values.flavour as string | undefined, firmware: values.firmware as string | undefined }))
    }
    if (command === 'convert') {
      const { runConvert, printConvert } = await import('./convert-command.js')
      return printConvert(out, await runConvert({
        positionals: rest,
        host: values.host as string | undefined,
        dryRun: Boolean(values['dry-run']),
        installBootcode: Boolean(values['install-bootcode']),
        undo: Boolean(values.undo),
        insecure: Boolean(values.insecure),
        fingerprint: (values.fingerprint as string | undefined) ?? process.env.XAPI_FINGERPRINT,
        passwordFile: values['password-file'] as string | undefined,
        maxRead: values['max-read'] as string | undefined,
        timeouts,
      }))
    }
    if (command === 'rollout') {
      const { runRollout } = await import('../fleet/cli/command.js')
      return await runRollout({
        files: rest,
        json: Boolean(values.json),
        dryRun: Boolean(values['dry-run']),
        reconcile: Boolean(values.reconcile),
        failFast: Boolean(values['fail-fast']),
        concurrency: values.concurrency as string | undefined,
        skipPreflight: Boolean(values['skip-preflight']),
        timeouts,
      })
    }
    if (!command) throw new UserError({ what: 'No recipe given', why: 'provision needs a recipe name or file', fix: 'run e.g. provision freebsd-9 --host sim (see --help)', exitCode: EXIT.usage })
    if (rest.length) throw new UserError({ what: `Unexpected argument "${rest[0]}"`, why: 'provision takes one recipe', fix: 'see provision --help', exitCode: EXIT.usage })
    if (command === 'sim') return await (await import('./sim-command.js')).runSimulator({ port: values.port as string | undefined, listen: values.listen as string | undefined, inventory: values.inventory as string | undefined, stateFile: values['state-file'] as string | undefined, profile: values.profile as string | undefined })
    const { runProvision } = await import('./provision-command.js')
    const result = await runProvision({
      recipe: command,
      host: values.host as string | undefined,
      name: values.name as string | undefined,
      image: values.image as string | undefined,
      json: Boolean(values.json),
      dryRun: Boolean(values['dry-run']),
      keepOnFailure: Boolean(values['keep-on-failure']),
      insecure: Boolean(values.insecure),
      passwordFile: values['password-file'] as string | undefined,
      skipPreflight: Boolean(values['skip-preflight']),
      fixOffset: Boolean(values['fix-offset']),
      verify: Boolean(values.verify),
      fingerprint: values.fingerprint as string | undefined,
      simProfile: values['sim-profile'] as string | undefined,
      timeouts,
      wait: waitOptions(values.wait as unknown as string[] | undefined, values['wait-timeout'] as string | undefined),
    })
    printResult(out, result)
    return 0
  } catch (e) {
    if (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      return printError(out, new UserError({ what: 'Bad arguments', why: e.message, fix: 'see provision --help', exitCode: EXIT.usage }))
    }
    return printError(out, e)
  }
}
