import { open } from 'node:fs/promises'
import type { Extent } from './extents.js'
import { buildSampleHvmImage, type SampleHvmLayout, type SampleHvmOptions } from './sample-hvm-image.js'
import { buildSampleImage, type SampleImageLayout, type SampleImageOptions } from './sample-image.js'

/** Writes a disk of `size` bytes as a sparse file: only its non-zero extents hit the disk. */
export async function writeExtentsFile(path: string, size: number, extents: readonly Extent[]): Promise<void> {
  const fh = await open(path, 'w')
  try {
    await fh.truncate(size)
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
}

/** The HOWTO's PV sample disk (MBR, BSD label, UFS1). */
export async function writeSampleImage(path: string, opts?: SampleImageOptions): Promise<SampleImageLayout> {
  const { layout, extents } = buildSampleImage(opts)
  await writeExtentsFile(path, layout.diskSize, extents)
  return layout
}

/** A FreeBSD 14 VM image in the official GPT layout (sample-hvm-image.ts), for HVM BIOS or UEFI. */
export async function writeSampleHvmImage(path: string, opts?: SampleHvmOptions): Promise<SampleHvmLayout> {
  const { layout, extents } = buildSampleHvmImage(opts)
  await writeExtentsFile(path, layout.diskSize, extents)
  return layout
}
