import { open, rm } from 'node:fs/promises'
import { runDir } from '../run-dir.js'
import { join } from 'node:path'
import { framedLength } from '../xapi/chunk-framing.js'
import { putSegment } from '../upload/send/import-raw-vdi.js'
import { transferTarget } from '../xapi/transfer-target.js'
import type { XapiConnection } from '../xapi/connection.js'
import type { Patch } from './boot-blocks.js'
import { BOOTCODE_LABEL } from './leftover-tasks.js'

/**
 * Writes the boot blocks into the VDI with one PUT /import_raw_vdi?chunked, the project's
 * upload path (task, Content-Length, the task's verdict): in the chunked framing each
 * record names its offset, so only these sectors are written and the rest of the disk
 * is not touched. The upload reads its records from a file, so the patches go into a
 * small sparse file at their own offsets first.
 */
export async function writePatches(x: XapiConnection, vdi: string, patches: readonly Patch[], signal?: AbortSignal): Promise<number> {
  const regions = patches.map((p) => ({ offset: p.offset, length: p.data.length }))
  const { dir } = await runDir('bootcode')
  const fh = await open(join(dir, 'patches'), 'w+', 0o600)
  try {
    for (const p of patches) await fh.write(p.data, 0, p.data.length, p.offset)
    const target = (await transferTarget(x, vdi, signal)) ?? undefined
    const bodyBytes = framedLength(regions)
    await putSegment(x, { vdi, fh, regions, bodyBytes, onData: () => undefined, label: BOOTCODE_LABEL, signal, ...(target ? { target } : {}) })
    return bodyBytes
  } finally {
    await fh.close()
    await rm(dir, { recursive: true, force: true })
  }
}
