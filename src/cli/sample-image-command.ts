import { stat } from 'node:fs/promises'
import { UserError } from '../errors.js'
import { writeSampleHvmImage, writeSampleImage } from '../image/write-image.js'
import type { Output } from './output.js'
import { bytes } from './units.js'

export const SAMPLE_LAYOUTS = ['pv', 'bios', 'uefi'] as const
export type SampleLayout = (typeof SAMPLE_LAYOUTS)[number]

/**
 * `provision sample-image <out> [--layout pv|bios|uefi]`: the images the test suite and
 * `--host sim` use, for anyone: check-image, a first trial on a real host, a library
 * user's tests. Sparse: only the written blocks take disk space.
 */
export async function runSampleImage(out: Output, a: { out: string | undefined; layout: string | undefined; force: boolean }): Promise<number> {
  if (a.out === undefined) {
    throw new UserError({ what: 'No output file given', why: 'sample-image writes the image to the path given', fix: 'run e.g. provision sample-image ./sample.img', code: 'bad-argument' })
  }
  const layout = a.layout ?? 'pv'
  if (!(SAMPLE_LAYOUTS as readonly string[]).includes(layout)) {
    throw new UserError({
      what: `--layout ${layout} is not a layout`,
      why: "pv is the HOWTO's MBR+UFS1 disk pygrub boots; bios and uefi are GPT disks an HVM guest boots",
      fix: 'pass --layout pv, bios or uefi',
      code: 'bad-argument',
    })
  }
  if (!a.force && (await stat(a.out).catch(() => undefined)) !== undefined) {
    throw new UserError({ what: `${a.out} exists`, why: 'sample-image does not overwrite a file it did not make', fix: 'give another path, or add --force to overwrite it', code: 'bad-argument' })
  }
  const written = await write(a.out, layout as SampleLayout).catch((e: unknown) => {
    throw new UserError({ what: `Cannot write ${a.out}`, why: e instanceof Error ? e.message : String(e), fix: 'check that the folder exists and is writable', code: 'failed' }, { cause: e })
  })
  if (out.json) out.stdout.write(JSON.stringify({ image: a.out, layout, size: written.diskSize }) + '\n')
  else
    out.stdout.write(
      `Wrote ${a.out}: ${layout === 'pv' ? 'PV (MBR, bsdlabel, UFS1; pygrub boots it)' : `HVM ${layout.toUpperCase()} (GPT, UFS2 root)`}, ${bytes(written.diskSize)} (sparse).\nCheck it: provision check-image ${a.out}${layout === 'pv' ? '' : ` --firmware ${layout}`}\n`,
    )
  return 0
}

function write(path: string, layout: SampleLayout): Promise<{ diskSize: number }> {
  return layout === 'pv' ? writeSampleImage(path) : writeSampleHvmImage(path, { firmware: layout })
}
