import { UserError } from '../errors.js'
import { formatSize, parseSize } from '../recipe/size.js'
import { SEGMENT_BYTES } from '../upload/resume/segments.js'

/**
 * Below this a segment's fixed cost (task.create, the PUT, the task wait, the checkpoint:
 * a few milliseconds) stops being small beside its data, and a large image makes
 * thousands of tasks.
 */
export const MIN_SEGMENT_BYTES = 1024 * 1024

/**
 * --segment-size: the data per upload segment, the unit of retry and of resume
 * (src/upload/resume/segments.ts). The default suits a LAN; on a slow link a cut costs a
 * whole segment again, so a smaller one loses less. The checkpoint is an image offset,
 * never a segment number, so a re-run may use another size.
 */
export function segmentSize(input: string | undefined): number | undefined {
  if (input === undefined) return undefined
  const parsed = parseSize(input)
  const bytes = typeof parsed === 'number' ? parsed : undefined
  if (bytes !== undefined && bytes >= MIN_SEGMENT_BYTES) return bytes
  throw new UserError({
    what: `--segment-size ${input} is not a segment size`,
    why: typeof parsed === 'string' ? parsed : `a segment holds at least ${formatSize(MIN_SEGMENT_BYTES)} of data`,
    fix: `give a size from 1MiB up, e.g. --segment-size 64MiB (default ${formatSize(SEGMENT_BYTES)})`,
    code: 'bad-argument',
  })
}
