import { UserError, EXIT } from '../../errors.js'
import { rollout } from '../rollout.js'
import type { RolloutResult } from '../types.js'
import { rolloutView } from './live-view.js'
import { planDiff, summary } from './report.js'
import type { Timeouts } from '../../xapi/timeouts.js'
import { terminalConfirm } from '../../cli/confirm.js'
import { detailedError, detailedExit } from '../../cli/detailed-exitcode.js'

/** Actions that change a VM, and the states that say a run made them. */
const CHANGING = new Set(['create', 'update', 'reconcile', 'replace'])
const CHANGED = new Set(['created', 'updated', 'reconciled', 'replaced'])

/** For --detailed-exitcode: did this run change (or, on --dry-run, plan to change) any VM? */
export const hasChanges = (r: RolloutResult): boolean => r.vms.some((v) => (r.dry_run ? CHANGING.has(v.action) : CHANGED.has(v.state)))

export interface RolloutArgs {
  files: string[]
  json: boolean
  /** --quiet (or XCP_PROVISION_LOG=quiet): no progress on stderr; the plan or summary and errors still print. */
  quiet?: boolean
  dryRun: boolean
  reconcile: boolean
  /** Remake VMs whose change cannot be made in place (a boot mode). */
  replace?: boolean
  /** Consent to disruptive actions without asking. */
  yes?: boolean
  /** Terraform's -detailed-exitcode: 0 no changes, 2 changes present (made, or planned on --dry-run), 1 any error. */
  detailedExitcode?: boolean
  failFast: boolean
  concurrency: string | undefined
  /** --wave N: VMs per wave. */
  wave?: string | undefined
  /** --canary: the first VM alone first. */
  canary?: boolean
  skipPreflight?: boolean
  timeouts?: Partial<Timeouts>
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError({
      what: `${flag} ${v} is not a positive whole number`,
      why: `${flag} is how many VMs ${flag === '--wave' ? 'each wave makes' : 'are worked on at once'}`,
      fix: `pass e.g. ${flag} 8`,
      exitCode: EXIT.usage,
    })
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
  const wave = positiveInt(args.wave, '--wave')
  const view = rolloutView(stderr, args.json || (args.quiet ?? false))
  const interrupt = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted)
    stderr.write(`\n${sig}: starting no more VMs; removing what the unfinished ones created (press Ctrl-C again to quit at once)\n`)
    interrupt.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let result: RolloutResult
  const confirm = terminalConfirm(process.stdin, stderr)
  try {
    result = await rollout({
      fleet: file,
      dryRun: args.dryRun,
      reconcile: args.reconcile,
      replace: args.replace ?? false,
      yes: args.yes ?? false,
      ...(confirm ? { confirm } : {}),
      failFast: args.failFast,
      skipPreflight: args.skipPreflight ?? false,
      ...(concurrency ? { concurrency } : {}),
      ...(wave ? { wave } : {}),
      ...(args.canary ? { canary: true } : {}),
      ...(args.timeouts ? { timeouts: args.timeouts } : {}),
      onEvent: view.onEvent,
      signal: interrupt.signal,
    })
  } catch (e) {
    // With --detailed-exitcode, 2 means "changes present": every error is 1 (src/cli/detailed-exitcode.ts).
    throw detailedError(args.detailedExitcode, e)
  } finally {
    view.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (args.json) stdout.write(JSON.stringify(result) + '\n')
  else stdout.write(args.dryRun ? planDiff(result) : summary(result))
  if (interrupt.signal.aborted) return EXIT.interrupted
  if (!result.ok) return EXIT.failure
  return detailedExit(args.detailedExitcode, hasChanges(result))
}
