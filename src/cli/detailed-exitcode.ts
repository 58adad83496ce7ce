import { UserError, EXIT, exitCodeOf } from '../errors.js'

/**
 * --detailed-exitcode, as terraform plan's -detailed-exitcode, for provision and rollout
 * alike: 0 nothing changed, 2 changes made (or planned, on --dry-run), 1 any error. The
 * exit codes are chosen here, in the CLI; the library only reports what changed.
 */

/** The exit code of a run that ended without an error. */
export const detailedExit = (on: boolean | undefined, changed: boolean): number => (on && changed ? 2 : 0)

/**
 * The error to throw instead of `e`: with the flag on, a user error whose exit would be
 * another code (2 means "changes" there) becomes exit 1, its code and message unchanged;
 * an interrupt stays 130.
 */
export function detailedError(on: boolean | undefined, e: unknown): unknown {
  if (!on || !(e instanceof UserError)) return e
  const exit = exitCodeOf(e.info)
  if (exit === EXIT.failure || exit === EXIT.interrupted) return e
  return new UserError({ ...e.info, code: e.code, exitCode: EXIT.failure }, { cause: e.cause })
}
