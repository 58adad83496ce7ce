import { open } from 'node:fs/promises'
import { buildSampleImage, type SampleImageLayout, type SampleImageOptions } from './sample-image.js'

/** Writes the sample disk as a sparse file: only its non-zero extents hit the disk. */
export async function writeSampleImage(path: string, opts?: SampleImageOptions): Promise<SampleImageLayout> {
  const { layout, extents } = buildSampleImage(opts)
  const fh = await open(path, 'w')
  try {
    await fh.truncate(layout.diskSize)
    for (const e of extents) {
      let done = 0
      while (done < e.data.length) {
        const { bytesWritten } = await fh.write(e.data, done, e.data.length - done, e.offset + done)
        done += bytesWritten
      }
    }
  } finally {
    await fh.close()
  }
  return layout
}
