import got, { RequestError } from 'got'
import type { XapiConnection } from '../xapi/connection.js'
import * as task from '../xapi/task.js'
import { XapiError } from '../xapi/errors.js'
import { scanDataRegions, type DataMap } from './data-map.js'
import { bodyLength, chunkedBody } from './chunked-body.js'

export interface UploadProgress {
  sent: number
  total: number
}

export interface UploadOptions {
  vdi: string
  image: string
  allowUnauthorized?: boolean
  onProgress?: (p: UploadProgress) => void
  /** Precomputed data map (dry-run and preflight already scanned the file). */
  map?: DataMap
}

export interface UploadResult {
  imageSize: number
  dataBytes: number
  /** Bytes of the HTTP body: data plus 12-byte headers and the terminator. */
  bytesSent: number
  regions: number
}

/** Fails when the task still says nothing this long after the body went out. */
const TASK_SETTLE_MS = 60_000

/**
 * PUT /import_raw_vdi with XAPI's chunked framing: task.create first, Content-Length
 * always set, only non-zero regions on the wire, and the task's result checked: XAPI
 * reports success or failure of the transfer only through the task.
 */
export async function importRawVdi(x: XapiConnection, opts: UploadOptions): Promise<UploadResult> {
  const map = opts.map ?? (await scanDataRegions(opts.image))
  const total = bodyLength(map)
  const taskRef = await task.create(x, 'xcp-provision: import raw VDI', opts.image.split('/').pop() ?? '')
  const taskDone = x.watchTask<string>(taskRef)
  // Observed before awaiting, so a failure that lands during the PUT is not unhandled.
  taskDone.catch(() => undefined)
  let sent = 0
  const url = new URL('/import_raw_vdi', x.url)
  url.search = new URLSearchParams({ session_id: x.sessionId, task_id: taskRef, vdi: opts.vdi, format: 'raw', chunked: 'true' }).toString()
  try {
    let httpError: Error | undefined
    try {
      const res = await got.put(url, {
        body: chunkedBody(opts.image, map, (n) => {
          sent += n
          opts.onProgress?.({ sent, total })
        }),
        headers: { 'content-length': String(total) },
        https: { rejectUnauthorized: !opts.allowUnauthorized },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
      })
      if (res.statusCode !== 200) httpError = new Error(`HTTP ${res.statusCode} from PUT /import_raw_vdi`)
    } catch (e) {
      // The URL carries the session id: keep only got's code and message, never its options.
      httpError = new Error(e instanceof RequestError ? `${e.code}: ${e.message.replace(/https?:\/\/\S+/g, '<url>')}` : String(e))
    }
    // The task is the authority: a cut connection usually comes with VDI_IO_ERROR there.
    const result = await withTimeout(taskDone, httpError ? 5000 : TASK_SETTLE_MS).catch((e: unknown) => {
      if (e instanceof XapiError) throw new XapiError(e.code, e.params, 'PUT /import_raw_vdi')
      throw httpError ?? e
    })
    if (httpError) throw httpError
    if (result !== opts.vdi) throw new Error(`PUT /import_raw_vdi: task result ${JSON.stringify(result)} is not the VDI ${opts.vdi}`)
    return { imageSize: map.size, dataBytes: map.dataBytes, bytesSent: total, regions: map.regions.length }
  } finally {
    await task.destroy(x, taskRef).catch(() => undefined)
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the upload task did not finish within ${ms / 1000} s`)), ms)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    )
  })
}
