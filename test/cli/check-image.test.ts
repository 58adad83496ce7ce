import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { writeSampleImage } from '../../src/image/write-image.js'
import { PreflightReport } from '../../src/preflight/report.js'
import { testDisks } from '../image/helpers/disks.js'
import { writeExtents } from '../image/helpers/images.js'
import { runCli } from '../support/cli.js'

describe('provision check-image (spawned CLI)', () => {
  let dir: string
  const img = (name: string): string => join(dir, `${name}.img`)
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'check-image-'))
    await writeSampleImage(img('a0'))
    await writeSampleImage(img('a16'), { partitionOffsetSectors: 16 })
    const gpt = testDisks().find((d) => d.name === 'gpt-boot-then-ufs1')
    if (gpt === undefined) throw new Error('no GPT test disk')
    writeExtents(img('gpt'), gpt.size, gpt.extents)
  })

  it('exits 0 on a bootable image and says so', async () => {
    const r = await runCli(['check-image', img('a0')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/: BOOTABLE \(upstream pygrub: boots, XCP-ng pygrub: boots/)
    expect(r.stdout).toContain('root    slice 1, partition a at byte 32256: UFS1 (superblock at +8192), /boot/kernel/kernel')
    expect(r.stdout).not.toContain('warnings:')
  })

  it('exits 1 on the a16 image with the reason and the --offset fix', async () => {
    const r = await runCli(['check-image', img('a16'), '--recipe', 'freebsd-9'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('NOT BOOTABLE')
    expect(r.stdout).toContain('why: partition a starts 16 sectors into the slice; pygrub reads only the slice start (byte 32256)')
    expect(r.stdout).toContain('fix: set PV-bootloader-args to "--kernel=/boot/kernel/kernel --offset=40448"')
  })

  it('--json prints the report, which the schema accepts', async () => {
    const r = await runCli(['check-image', img('a16'), '--json'])
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as { bootable: boolean; checked: string[] }
    expect(out).toMatchObject({ bootable: false, checked: ['upstream', 'xcp-ng'] })
    const report = PreflightReport.parse(out)
    expect(report.offset_fix?.offset).toBe(40448)
    expect(report.verdicts.upstream.pygrub.message).toBe('Unable to find partition containing kernel')
  })

  it('checks both flavours by default; --flavour narrows it (GPT boots upstream only)', async () => {
    const both = await runCli(['check-image', img('gpt')])
    expect(both.code).toBe(1)
    expect(both.stdout).toContain("XCP-ng's pygrub gives up when the first place it looks")
    expect((await runCli(['check-image', img('gpt'), '--flavour', 'upstream'])).code).toBe(0)
    expect((await runCli(['check-image', img('gpt'), '--flavour', 'xcp-ng'])).code).toBe(1)
  })

  it('fails cleanly on a missing file, no file, or a bad flavour', async () => {
    const missing = await runCli(['check-image', join(dir, 'nope.img')])
    // 2, as diff and cmp: "could not check" is not "not bootable" (docs/cli.md).
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('Cannot read the image')
    expect(missing.stderr).toContain('[image-unreadable]')
    expect((await runCli(['check-image'])).code).toBe(2)
    expect((await runCli(['check-image', img('a0'), '--flavour', 'grub'])).code).toBe(2)
    const garbage = await runCli(['check-image', '/etc/hostname', '--json'])
    expect(garbage.code).toBe(1)
    expect(PreflightReport.parse(JSON.parse(garbage.stdout)).verdicts.upstream.problems[0]?.code).toBe('no-filesystem')
  })
})
