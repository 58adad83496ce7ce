import type { DiskReader } from '../../disk/disk-reader.js'
import type { XapiConnection } from '../../xapi/connection.js'
import * as task from '../../xapi/task.js'
import { XapiError } from '../../xapi/errors.js'
import { UserError } from '../../errors.js'
import { isRedirect, loadGot, transferErrorText, transferOptions, transferUrl, type TransferTarget } from '../../xapi/raw-transfer.js'
import { chunkedBody } from './chunked-body.js'
import type { Region } from '../find/data-map.js'

export interface UploadProgress {
  sent: number
  total: number
}

/**
 * One failed PUT, with what each side said: got's error code or the HTTP status, and
 * the task's XAPI error. retry.ts decides from these whether another attempt can help.
 */
export class ImportFailure extends Error {
  override name = 'ImportFailure'
  constructor(
    message: string,
    readonly http: { status?: number; code?: string; message?: string },
    readonly task?: XapiError,
    readonly timedOut = false,
  ) {
    super(message)
  }
}

export interface PutOptions {
  vdi: string
  /** The virtual disk (a FileHandle for a raw image). */
  fh: Pick<DiskReader, 'read'>
  regions: readonly Region[]
  /** Content-Length: framedLength(regions). */
  bodyBytes: number
  /** Every data piece as it is read for the wire (hashing); also called for attempts that fail. */
  onData: (data: Buffer) => void
  /** Bytes handed to the socket so far in this attempt. */
  onSent?: (bytes: number) => void
  signal?: AbortSignal | undefined
  label: string
  /** The pool host XAPI redirected this VDI's transfers to (transfer-target.ts); else the session's host. */
  target?: TransferTarget | undefined
}

const TLS_REFUSED = /CERT|SELF_SIGNED|ERR_TLS_CERT|UNABLE_TO_VERIFY|ERR_SSL/

/** Fails when the task still says nothing this long after the body went out. */
const TASK_SETTLE_MS = 60_000
/** After a broken transfer the task fails within moments; do not wait a minute for it. */
const TASK_SETTLE_AFTER_ERROR_MS = 5_000

/**
 * PUT /import_raw_vdi?chunked for one segment, xe vdi-import's way: task.create first,
 * Content-Length always set (XAPI refuses Transfer-Encoding), and the task's result
 * checked, because XAPI reports the transfer's success or failure only there.
 */
export async function putSegment(x: XapiConnection, o: PutOptions): Promise<void> {
  const { default: got, RequestError } = await loadGot()
  // The description starts with the VDI: a re-run after kill -9 finds the tasks of that VDI's upload by it.
  const taskRef = await task.create(x, 'xcp-provision: import raw VDI', `${o.vdi}: ${o.label}`)
  let ended = false
  const url = transferUrl(x, o.target, '/import_raw_vdi', { task_id: taskRef, vdi: o.vdi, format: 'raw', chunked: 'true' })
  try {
    let http: ImportFailure['http'] | undefined
    const local = new AbortController()
    let readError: unknown
    try {
      // A failed read of the image (it shrank) ends the PUT at once: got would otherwise
      // leave the request open with its body unfinished until the idle timeout.
      const body = endOnReadError(chunkedBody(o.fh, o.regions, o.onData), (e) => {
        readError = e
        local.abort(e)
      })
      // The connection's limits (raw-transfer.ts): a stalled host ends in a retry, never in silence.
      const req = got.put(url, {
        ...transferOptions(x, o.target, o.signal ? AbortSignal.any([o.signal, local.signal]) : local.signal),
        body,
        headers: { 'content-length': String(o.bodyBytes) },
      })
      if (o.onSent) req.on('uploadProgress', (p) => o.onSent!(p.transferred))
      const res = await req
      if (res.statusCode !== 200) http = { status: res.statusCode }
      // The SR moved (or the probe could not tell): XAPI left the task for the host it names.
      if (isRedirect(res.statusCode)) throw new ImportFailure(`PUT /import_raw_vdi: HTTP ${res.statusCode} to another host of the pool`, { status: res.statusCode })
    } catch (e) {
      if (readError !== undefined) throw new ImageShrank(readError)
      if (!(e instanceof RequestError)) throw e
      // A refused certificate is not a flaky link: no retry, and no task to wait for (nothing reached it).
      if (e.code && TLS_REFUSED.test(e.code)) {
        const who = o.target ? `${url.host} (${o.target.name}, where XAPI redirected the upload)` : url.host
        const why = o.target?.tls.ca ? 'it is not the certificate the pool master reports for that host' : 'it is not trusted'
        throw new Error(`TLS: the certificate of ${who} was refused (${e.code}): ${why}`)
      }
      // The URL carries the session id: keep got's code and its redacted message, never its options.
      http = { code: e.code, message: transferErrorText(e, url, 'PUT /import_raw_vdi', x.timeouts) }
    }
    // Interrupted: the task may never have been given any work (the PUT was cut before
    // it started), so waiting for it would only wait out the timeout.
    o.signal?.throwIfAborted()
    // Watched only now: during the transfer every progress step of the task is an event,
    // ~20 event.from round trips per segment that compete with the upload for CPU. A
    // failure during the transfer cuts the connection, so nothing is missed by waiting.
    const waited = await settle(x.watchTask<string>(taskRef), http ? TASK_SETTLE_AFTER_ERROR_MS : TASK_SETTLE_MS)
    ended = !waited.timedOut
    const httpText = http ? (http.status ? `HTTP ${http.status}` : `${http.code}: ${http.message}`) : 'HTTP 200'
    if (waited.error !== undefined && !(waited.error instanceof XapiError)) throw waited.error
    if (waited.error instanceof XapiError) {
      const err = new XapiError(waited.error.code, waited.error.params, 'PUT /import_raw_vdi')
      throw new ImportFailure(`${err.message} (${httpText})`, http ?? { status: 200 }, err)
    }
    if (waited.timedOut) throw new ImportFailure(`PUT /import_raw_vdi: ${httpText}, and the task did not finish`, http ?? { status: 200 }, undefined, true)
    if (http) throw new ImportFailure(`PUT /import_raw_vdi: ${httpText}`, http)
    if (waited.result !== o.vdi) throw new Error(`PUT /import_raw_vdi: task result ${JSON.stringify(waited.result)} is not the VDI ${o.vdi}`)
  } finally {
    // A task no transfer ever reached (refused certificate, connection refused, interrupt,
    // redirect) stays pending, and XAPI destroys a pending task only once it completes: end it.
    if (!ended) await task.set_status(x, taskRef, 'cancelled').catch(() => undefined)
    await task.destroy(x, taskRef).catch(() => undefined)
  }
}

/**
 * The image could not be read to the end of what its map promised: something truncated
 * or rewrote it during the upload. No retry can fix that, and nothing the VDI holds of
 * this attempt is worth keeping.
 */
export class ImageShrank extends UserError {
  override name = 'ImageShrank'
  constructor(cause: unknown) {
    super(
      {
        what: 'The image changed during the upload',
        why: cause instanceof Error ? cause.message : String(cause),
        fix: 'make sure nothing writes to the image (a VM using it, a copy still in progress), then run the same command again; the upload starts over',
      },
      { cause },
    )
  }
}

/** Passes the body through; a read error is reported to `onError` before it ends the body. */
async function* endOnReadError(body: AsyncGenerator<Buffer>, onError: (e: unknown) => void): AsyncGenerator<Buffer> {
  try {
    yield* body
  } catch (e) {
    onError(e)
    throw e
  }
}

type Settled = { result?: string; error?: unknown; timedOut?: boolean }

function settle(p: Promise<string>, ms: number): Promise<Settled> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ timedOut: true }), ms)
    p.then(
      (result) => (clearTimeout(t), resolve({ result })),
      (error: unknown) => (clearTimeout(t), resolve({ error })),
    )
  })
}
