import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCheckImage } from '../../src/cli/check-image-command.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { HvmPreflightReport } from '../../src/preflight/hvm-report.js'
import { tempDir } from '../image/helpers/tools.js'

describe('check-image with an HVM recipe', () => {
  const tmp = tempDir('check-image-hvm-')
  afterAll(tmp.cleanup)

  it('freebsd-14 (UEFI) checks verdicts.uefi; the report matches its schema', async () => {
    const path = join(tmp.dir, 'uefi.img')
    await writeSampleHvmImage(path, { firmware: 'uefi', diskSize: 64 << 20 })
    const r = await runCheckImage({ files: [path], recipe: 'freebsd-14' })
    expect(r).toMatchObject({ mode: 'hvm', checked: ['uefi'], bootable: true })
    const report = HvmPreflightReport.parse(r.report)
    expect(report.verdicts.uefi.boots).toBe(true)
    expect(report.verdicts.bios.boots).toBe(false)
  })

  it('freebsd-13 (BIOS) refuses a UEFI-only image; --flavour uefi accepts it', async () => {
    const path = join(tmp.dir, 'uefi-only.img')
    await writeSampleHvmImage(path, { firmware: 'uefi', diskSize: 64 << 20 })
    expect(await runCheckImage({ files: [path], recipe: 'freebsd-13' })).toMatchObject({ mode: 'hvm', checked: ['bios'], bootable: false })
    expect(await runCheckImage({ files: [path], recipe: 'freebsd-13', flavour: 'uefi' })).toMatchObject({ checked: ['uefi'], bootable: true })
  })

  it("--firmware checks a PV recipe's image as HVM; a wrong value is a usage error naming it", async () => {
    const path = join(tmp.dir, 'both.img')
    await writeSampleHvmImage(path, { firmware: 'both', diskSize: 64 << 20 })
    expect(await runCheckImage({ files: [path], recipe: 'freebsd-9', firmware: 'both' })).toMatchObject({ mode: 'hvm', checked: ['bios', 'uefi'], bootable: true })
    await expect(runCheckImage({ files: [path], recipe: 'freebsd-14', flavour: 'xcp-ng' })).rejects.toThrow(/--flavour xcp-ng is not a firmware/)
  })
})
