import { UserError, EXIT } from '../../errors.js'
import { rollout } from '../rollout.js'
import type { RolloutResult } from '../types.js'
import { rolloutView } from './live-view.js'
import { planDiff, summary } from './report.js'
import type { Timeouts } from '../../xapi/timeouts.js'

export interface RolloutArgs {
  files: string[]
  json: boolean
  dryRun: boolean
  reconcile: boolean
  failFast: boolean
  concurrency: string | undefined
  skipPreflight?: boolean
  timeouts?: Partial<Timeouts>
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError({ what: `${flag} ${v} is not a positive whole number`, why: `${flag} is how many VMs are worked on at once`, fix: `pass e.g. ${flag} 8`, exitCode: EXIT.usage })
  }
  return n
}

/**
 * `provision rollout <fleet.yaml>`: progress on stderr (live on a terminal), then the
 * dry-run diff or the summary table on stdout, or one JSON object with --json. Exit 1
 * when any VM failed or was skipped; 130 when interrupted.
 */
export async function runRollout(args: RolloutArgs, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Promise<number> {
  const [file, ...extra] = args.files
  if (!file) throw new UserError({ what: 'No fleet file given', why: 'rollout needs a fleet file', fix: 'run e.g. provision rollout fleet.yaml (see docs/fleet.md)', exitCode: EXIT.usage })
  if (extra.length) throw new UserError({ what: `Unexpected argument "${extra[0]}"`, why: 'rollout takes one fleet file', fix: 'see provision --help', exitCode: EXIT.usage })
  const concurrency = positiveInt(args.concurrency, '--concurrency')
  const view = rolloutView(stderr, args.json)
  const interrupt = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted)
    stderr.write(`\n${sig}: starting no more VMs; removing what the unfinished ones created (press Ctrl-C again to quit at once)\n`)
    interrupt.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let result: RolloutResult
  try {
    result = await rollout({
      fleet: file,
      dryRun: args.dryRun,
      reconcile: args.reconcile,
      failFast: args.failFast,
      skipPreflight: args.skipPreflight ?? false,
      ...(concurrency ? { concurrency } : {}),
      ...(args.timeouts ? { timeouts: args.timeouts } : {}),
      onEvent: view.onEvent,
      signal: interrupt.signal,
    })
  } finally {
    view.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (args.json) stdout.write(JSON.stringify(result) + '\n')
  else stdout.write(args.dryRun ? planDiff(result) : summary(result))
  if (interrupt.signal.aborted) return EXIT.interrupted
  return result.ok ? 0 : EXIT.failure
}
