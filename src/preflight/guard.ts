import type { Finding } from './report.js'

/**
 * Runs the preflight's stages so that none can crash it: readers throw only
 * ImageFormatError on bad input and the stages catch it; this net is for the image nobody
 * thought of, which gets a failed check with a message in `errors` and the stage's fallback.
 */
export function stageGuard(errors: Finding[]): <T>(stage: () => T, fallback: T) => T {
  return (stage, fallback) => {
    try {
      return stage()
    } catch (e) {
      errors.push({ code: 'analysis-error', message: `part of the image could not be analysed: ${e instanceof Error ? e.message : String(e)}`, fix: 'report this with the image if you can share it' })
      return fallback
    }
  }
}
