import { createReadStream, writeSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { isZero } from '../image/zero.js'
import { expandsBeyond, type SpoolContext, type SpoolJob } from './spool-job.js'

/** Zero detection grid of the spool: all-zero blocks are skipped, so the spool stays sparse. */
const BLOCK = 64 * 1024

/**
 * Writes a gzip image's decompressed stream into the sparse spool, 64 KiB block by
 * block: all-zero blocks are skipped (the spool stays sparse, and the runs written are
 * the data map). gzip, unlike xz (spool-xz.ts), writes no sparse output itself, so Node
 * decompresses (node:zlib) and checks each block. Blocks are cut at multiples of BLOCK of
 * the output, wherever the chunks end.
 */
export function spoolGzip(c: SpoolContext): SpoolJob {
  const runs: number[] = []
  let expanded = 0
  let stopped: { reason: unknown } | undefined
  const carry = Buffer.alloc(BLOCK)
  let carried = 0
  const flush = (block: Buffer): void => {
    if (!isZero(block)) {
      writeSync(c.out, block, 0, block.length, expanded)
      const n = runs.length
      if (n && runs[n - 2]! + runs[n - 1]! === expanded) runs[n - 1]! += block.length
      else runs.push(expanded, block.length)
    }
    expanded += block.length
  }
  const push = (chunk: Buffer): void => {
    let i = 0
    while (i < chunk.length) {
      // Whole blocks are checked where they lie: a copy of every byte of a 16 GiB stream costs seconds.
      if (carried === 0 && chunk.length - i >= BLOCK) {
        flush(chunk.subarray(i, i + BLOCK))
        i += BLOCK
        continue
      }
      const take = Math.min(BLOCK - carried, chunk.length - i)
      chunk.copy(carry, carried, i, i + take)
      carried += take
      i += take
      if (carried === BLOCK) {
        flush(carry)
        carried = 0
      }
    }
  }
  const source = createReadStream(c.path, { highWaterMark: 1024 * 1024 })
  let read = 0
  source.on('data', (d: Buffer | string) => (read += d.length))
  const gunzip = source.pipe(createGunzip())
  const done = (async (): Promise<number> => {
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        push(chunk)
        if (expanded + carried > c.limit) throw expandsBeyond(c)
        c.progress(read, expanded + carried)
      }
      if (stopped) throw stopped.reason
      if (carried) flush(carry.subarray(0, carried))
      return expanded
    } catch (e) {
      throw stopped ? stopped.reason : e
    } finally {
      source.destroy()
    }
  })()
  return {
    mark: () => expanded,
    runs: () => runs,
    done,
    abort: (reason) => {
      stopped ??= { reason }
      gunzip.destroy()
    },
  }
}
