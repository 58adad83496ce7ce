import { UserError, EXIT } from '../errors.js'
import { detailedError, detailedExit } from './detailed-exitcode.js'
import { commandNamed } from './commands.js'
import { commandHelp, overviewHelp } from './help.js'
import type { Output } from './output.js'
import type { OptionValues, ParsedCommand } from './parse.js'

/**
 * From parsed options to each command's module, loaded only when that command runs
 * (docs/design.md, start-up). Each runner returns the exit code; printing goes
 * through output.ts.
 */
type Runner = (p: ParsedCommand, out: Output) => Promise<number>

const str = (v: OptionValues, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined)
const bool = (v: OptionValues, k: string): boolean => v[k] === true
const list = (v: OptionValues, k: string): string[] | undefined => (Array.isArray(v[k]) ? (v[k] as string[]) : undefined)

async function timeouts(v: OptionValues): Promise<ReturnType<typeof import('./timeout-options.js').timeoutsFrom>> {
  return (await import('./timeout-options.js')).timeoutsFrom(v)
}

/** More positionals than the command takes: name the first extra one. */
function extra(p: ParsedCommand, max: number, what: string): void {
  const e = p.positionals[max]
  if (e === undefined) return
  const label = p.command.name === 'provision' ? 'provision' : `provision ${p.command.name}`
  throw new UserError({ what: `Unexpected argument "${e}"`, why: `${label} takes ${what}`, fix: `see ${label} --help`, code: 'bad-argument' })
}

const RUNNERS: Record<string, Runner> = {
  async provision(p, out) {
    const v = p.values
    const recipe = p.positionals[0]
    if (recipe === undefined) {
      throw new UserError({
        what: 'No recipe given',
        why: 'provision needs a recipe name or file',
        fix: 'run e.g. provision freebsd-9 --host sim (provision --help lists the recipes)',
        code: 'bad-argument',
      })
    }
    extra(p, 1, 'one recipe')
    const [{ runProvision }, { waitOptions }, { printResult }] = await Promise.all([import('./provision-command.js'), import('../wait/options.js'), import('./output.js')])
    const detailed = bool(v, 'detailed-exitcode')
    const result = await runProvision({
      recipe,
      host: str(v, 'host') ?? process.env.XAPI_HOST,
      name: str(v, 'name'),
      image: str(v, 'image'),
      json: out.json,
      quiet: out.level === 'quiet',
      dryRun: bool(v, 'dry-run'),
      keepOnFailure: bool(v, 'keep-on-failure'),
      reconcile: bool(v, 'reconcile'),
      replace: bool(v, 'replace'),
      yes: bool(v, 'yes'),
      insecure: bool(v, 'insecure'),
      passwordFile: str(v, 'password-file'),
      skipPreflight: bool(v, 'skip-preflight'),
      fixOffset: bool(v, 'fix-offset'),
      verify: bool(v, 'verify'),
      fingerprint: str(v, 'fingerprint'),
      simProfile: str(v, 'sim-profile'),
      timeouts: await timeouts(v),
      wait: waitOptions(list(v, 'wait'), str(v, 'wait-timeout')),
    }).catch((e: unknown) => {
      throw detailedError(detailed, e)
    })
    printResult(out, result)
    // terraform plan -detailed-exitcode: 2 when the VM was (or, with --dry-run, would be) made or changed.
    const changed = 'existing' in result ? result.action === 'update' || result.action === 'reconcile' : true
    return detailedExit(detailed, changed)
  },
  async rollout(p, out) {
    const v = p.values
    const { runRollout } = await import('../fleet/cli/command.js')
    return await runRollout({
      files: p.positionals,
      json: out.json,
      quiet: out.level === 'quiet',
      dryRun: bool(v, 'dry-run'),
      reconcile: bool(v, 'reconcile'),
      replace: bool(v, 'replace'),
      yes: bool(v, 'yes'),
      detailedExitcode: bool(v, 'detailed-exitcode'),
      failFast: bool(v, 'fail-fast'),
      concurrency: str(v, 'concurrency'),
      wave: str(v, 'wave'),
      canary: bool(v, 'canary'),
      skipPreflight: bool(v, 'skip-preflight'),
      timeouts: await timeouts(v),
    })
  },
  async destroy(p, out) {
    return await (await import('./destroy-command.js')).runDestroy(p.positionals, p.values, out)
  },
  async 'check-image'(p, out) {
    const v = p.values
    const [{ runCheckImage }, { printCheckImage }, { spoolRenderer }, { watchSpools }] = await Promise.all([
      import('./check-image-command.js'),
      import('./check-image-output.js'),
      import('./progress.js'),
      import('../disk/spool.js'),
    ])
    // A .xz or .gz image is decompressed first, a minute or more for a big one: the same moving line as provision's.
    const unwatch = out.json || out.level === 'quiet' ? () => undefined : watchSpools(spoolRenderer(out.stderr))
    try {
      return printCheckImage(out, await runCheckImage({ files: p.positionals, recipe: str(v, 'recipe'), flavour: str(v, 'flavour'), firmware: str(v, 'firmware') }))
    } finally {
      unwatch()
    }
  },
  async convert(p, out) {
    const v = p.values
    const { runConvert, printConvert } = await import('./convert-command.js')
    return printConvert(
      out,
      await runConvert({
        positionals: p.positionals,
        host: str(v, 'host') ?? process.env.XAPI_HOST,
        dryRun: bool(v, 'dry-run'),
        installBootcode: bool(v, 'install-bootcode'),
        undo: bool(v, 'undo'),
        insecure: bool(v, 'insecure'),
        fingerprint: str(v, 'fingerprint') ?? process.env.XAPI_FINGERPRINT,
        passwordFile: str(v, 'password-file'),
        maxRead: str(v, 'max-read'),
        timeouts: await timeouts(v),
      }),
    )
  },
  async sim(p) {
    const v = p.values
    extra(p, 0, 'no arguments')
    return await (await import('./sim-command.js')).runSimulator({
      port: str(v, 'port'),
      listen: str(v, 'listen'),
      inventory: str(v, 'inventory'),
      stateFile: str(v, 'state-file'),
      profile: str(v, 'profile'),
    })
  },
  async 'sample-image'(p, out) {
    extra(p, 1, 'one output file')
    const { runSampleImage } = await import('./sample-image-command.js')
    return runSampleImage(out, { out: p.positionals[0], layout: str(p.values, 'layout'), force: bool(p.values, 'force') })
  },
  async help(p, out) {
    const [name] = p.positionals
    extra(p, 1, 'one command name')
    if (name === undefined) {
      out.stdout.write(overviewHelp())
      return 0
    }
    const c = commandNamed(name)
    if (!c) {
      const { closest } = await import('./suggest.js')
      const { COMMANDS } = await import('./commands.js')
      const guess = closest(
        name,
        COMMANDS.map((x) => x.name),
      )
      throw new UserError({
        what: `No command "${name}"`,
        why: `the commands are ${COMMANDS.map((x) => x.name).join(', ')}`,
        fix: guess ? `did you mean provision help ${guess}?` : 'run provision --help',
        code: 'bad-argument',
      })
    }
    out.stdout.write(commandHelp(c))
    return 0
  },
}

export async function runCommand(p: ParsedCommand, out: Output): Promise<number> {
  if (p.values.help === true) {
    out.stdout.write(commandHelp(p.command))
    return 0
  }
  const run = RUNNERS[p.command.name]
  if (!run)
    throw new UserError({ what: `Command ${p.command.name} has no runner`, why: 'commands.ts lists it and run-command.ts does not', fix: 'report this', code: 'internal', exitCode: EXIT.failure })
  // Before the command's modules build their schemas (zod-jitless.ts says why).
  await import('./zod-jitless.js')
  return await run(p, out)
}
