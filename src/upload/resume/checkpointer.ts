import type { XapiConnection } from '../../xapi/connection.js'
import type { DataMap } from '../find/data-map.js'
import { clearCheckpoint, identityOf, parseCheckpoint, sameIdentity, writeCheckpoint, writeIdentity, type Checkpoint } from './checkpoint.js'

/**
 * Records checkpoints on the VDI without holding up the transfer. The identity needs
 * the regions' hashes, which are computed beside the first segments (region-hashes.ts);
 * until they are ready, finished segments are only noted, and the newest offset is
 * written as soon as they are. Writes are chained, so their remove/add pairs never
 * interleave, and `finish` lets none land after the keys are cleared: a late write
 * would make a finished VDI look resumable.
 */
export class Checkpointer {
  private chain: Promise<void> = Promise.resolve()
  private failure: unknown
  private ready = false
  private recorded = 0
  private reached = 0
  private over = false
  private readonly hashed: Promise<void>

  constructor(
    private readonly x: XapiConnection,
    private readonly vdi: string,
    /** The VDI's other_config as last read; kept current by the writes. */
    private readonly otherConfig: Record<string, string>,
    map: DataMap,
    /** Undefined, or resolving to undefined, when no checkpoint will ever be needed (a single segment left). */
    hashes: Promise<Buffer | undefined> | undefined,
    private readonly onCheckpoint: (c: Checkpoint) => void,
  ) {
    this.hashed = (hashes ?? Promise.resolve(undefined)).then(
      (h) => {
        if (!h || this.over) return
        const id = identityOf(map, h)
        const stored = parseCheckpoint(otherConfig).identity
        if (!stored || !sameIdentity(stored, id)) this.enqueue(() => writeIdentity(x, vdi, otherConfig, id))
        this.ready = true
        this.flush()
      },
      // No identity, no checkpoints; but not a failure of the upload. The hashes are read
      // beside the transfer, so they often meet a truncated image first; the transfer's own
      // reads then fail with the one clear message (ImageShrank), not this worker's words.
      () => undefined,
    )
  }

  /** The VDI now holds the image below `offset`; throws a checkpoint write failure seen so far. */
  segmentDone(offset: number): void {
    if (this.failure !== undefined) throw this.failure
    this.reached = offset
    this.flush()
  }

  /**
   * Waits for the writes in flight, then (on success only) removes both keys. After a
   * failure it first gives the hashing up to `waitMs` to finish, so that the segments
   * already sent get their checkpoint and the next run need not send them again.
   */
  async finish(completed: boolean, waitMs = 0): Promise<void> {
    if (!completed && waitMs > 0) await Promise.race([this.hashed, new Promise((resolve) => setTimeout(resolve, waitMs).unref())])
    this.over = true
    await this.chain
    if (completed && this.failure !== undefined) throw this.failure
    if (completed) await clearCheckpoint(this.x, this.vdi, this.otherConfig)
  }

  private flush(): void {
    if (!this.ready || this.over || this.reached <= this.recorded) return
    const c: Checkpoint = { offset: this.reached }
    this.recorded = c.offset
    this.enqueue(async () => {
      await writeCheckpoint(this.x, this.vdi, this.otherConfig, c)
      this.onCheckpoint(c)
    })
  }

  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(write).catch((e: unknown) => void (this.failure ??= e))
  }
}
