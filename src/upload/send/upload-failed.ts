import { UserError } from '../../errors.js'
import { XapiError } from '../../xapi/errors.js'
import { ImportFailure } from './import-raw-vdi.js'
import { isRetryable } from './retry.js'
import type { Segment } from '../resume/segments.js'

export interface UploadFailedInfo {
  segment: Segment
  segments: number
  attempts: number
  cause: unknown
}

/** A segment that could not be uploaded: which one, how often it was tried, and what broke. */
export class UploadFailed extends UserError {
  override name = 'UploadFailed'
  constructor(i: UploadFailedInfo) {
    const s = i.segment
    const msg = i.cause instanceof Error ? i.cause.message : String(i.cause)
    const retried = isRetryable(i.cause)
    super(
      {
        what: `Upload of segment ${s.index + 1} of ${i.segments} (image bytes ${s.start}-${s.end}) failed after ${i.attempts} attempt${i.attempts === 1 ? '' : 's'}`,
        why: retried ? `${msg} (the retries ran out)` : `${msg} (not retried: ${whyFinal(i.cause)})`,
        fix: fixFor(i.cause),
      },
      { cause: i.cause },
    )
  }
}

function whyFinal(e: unknown): string {
  if (e instanceof XapiError) return `XAPI refused ${e.method}`
  // Already what/why/fix (a changed image, a host that stopped answering): a retry cannot help.
  if (e instanceof UserError) return 'another attempt cannot help'
  if (!(e instanceof ImportFailure)) return 'a local error, not a network one'
  if (e.task) return `XAPI failed the import with ${e.task.code} after a clean transfer`
  return `HTTP ${e.http.status ?? e.http.code} is not a transient failure`
}

function fixFor(e: unknown): string {
  if (e instanceof UserError) return e.info.fix
  if (e instanceof ImportFailure && e.task?.code === 'SR_BACKEND_FAILURE_44') return 'the SR is out of space: free space on it or choose another SR in the recipe'
  if (e instanceof ImportFailure && (e.http.status === 401 || e.http.status === 403)) return 'the host refused the session for the upload; check the account (and the host), then run again'
  if (isRetryable(e)) return 'check the network path to the host (and the host itself), then run the same command again'
  return 'run again; if it fails the same way, report it with this message'
}
