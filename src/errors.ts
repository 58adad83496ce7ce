/**
 * The user-facing error: what failed, why, and what to do about it. Everything the
 * CLI prints on failure goes through this shape (or `--json`'s rendering of it).
 * Messages never carry credentials or session ids.
 */
export interface UserErrorInfo {
  what: string
  why: string
  fix: string
  /** Objects this run removed while rolling back, or left behind on request. */
  removed?: string[]
  kept?: string[]
  exitCode?: number
}

export class UserError extends Error {
  override name = 'UserError'
  readonly info: UserErrorInfo
  constructor(info: UserErrorInfo, options?: { cause?: unknown }) {
    super(`${info.what}: ${info.why}`, options)
    this.info = info
  }
}

export const EXIT = {
  failure: 1,
  usage: 2,
  badRecipe: 3,
  interrupted: 130,
} as const
