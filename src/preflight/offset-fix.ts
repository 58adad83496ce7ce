import type { FoundRoot } from './root-fs.js'
import { FLAVOURS, type FlavourVerdict, type OffsetFix } from './report.js'
import { flavourVerdict, type VerdictInput } from './verdict.js'

/** `--offset`, `--offse`, … `--of`: getopt accepts any unique prefix ("--o" is ambiguous with --output). */
const OFFSET_OPTION = /^--of(f(s(e(t)?)?)?)?(=|$)/

/**
 * PV-bootloader-args with any --offset removed and `--offset=<offset>` appended.
 * Arguments are split on single spaces, as XAPI splits them before calling pygrub.
 */
export function withOffset(bootloaderArgs: string, offset: number): string {
  const argv = bootloaderArgs.split(' ').filter((a) => a !== '')
  const kept: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (!OFFSET_OPTION.test(a)) kept.push(a)
    else if (!a.includes('=')) i++ // "--offset N": the value is the next argument
  }
  return [...kept, `--offset=${offset}`].join(' ')
}

/** Problem codes that mean "pygrub looked in the wrong place", the only ones --offset can cure. */
const PLACEMENT = new Set(['a-offset', 'wrong-offset', 'root-not-tried', 'xcp-ng-first-offset', 'earlier-filesystem', 'table-unreadable'])

/**
 * Proposes `--offset=<start of the root>` when pygrub looking in the wrong place is the
 * only problem: some flavour fails, every failure is a placement problem, and with the
 * new arguments every flavour boots (checked by running the emulation again, not assumed).
 */
export function proposeOffsetFix(input: VerdictInput, found: FoundRoot | null, verdicts: readonly FlavourVerdict[]): OffsetFix | null {
  const failing = verdicts.filter((v) => !v.boots)
  if (found === null || failing.length === 0) return null
  if (!failing.every((v) => v.problems.length > 0 && v.problems.every((p) => PLACEMENT.has(p.code)))) return null
  const args = withOffset(input.bootloaderArgs, found.root.start)
  const retry = { ...input, bootloaderArgs: args }
  if (!FLAVOURS.every((f) => flavourVerdict(retry, f).boots)) return null
  return { offset: found.root.start, bootloader_args: args, why: failing[0]?.problems[0]?.message ?? '' }
}
