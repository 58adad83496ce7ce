import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parsePe } from '../../src/image/pe.js'
import { extentsReadAt } from '../../src/image/extents.js'
import { fakeKernel } from '../../src/image/fake-kernel.js'
import { FatVolume } from '../../src/image/fat.js'
import { parseGpt } from '../../src/image/gpt.js'
import { parseMbr } from '../../src/image/mbr.js'
import { subReadAt } from '../../src/image/read-at.js'
import { buildSampleHvmImage, SAMPLE_HVM_FSTAB } from '../../src/image/sample-hvm-image.js'
import { openUfs } from '../../src/image/ufs.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { run, runOk, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

describe('sample HVM image (FreeBSD 14 VM image layout)', () => {
  it('UEFI: GPT with efiboot0 (FAT32 ESP holding an x64 BOOTX64.EFI), swapfs, rootfs in UFS2', () => {
    const { layout, extents } = buildSampleHvmImage({ firmware: 'uefi', seed: 2 })
    const read = extentsReadAt(extents)
    const gpt = parseGpt(read, layout.diskSize)
    expect(gpt.header.headerCrcValid && gpt.header.entriesCrcValid).toBe(true)
    expect(gpt.entries.map((e) => e.name)).toEqual(['efiboot0', 'swapfs', 'rootfs'])
    expect(parseMbr(read(0, 512)).entries[0]?.type).toBe(0xee)
    expect(read(0, 440).every((b) => b === 0)).toBe(true) // no BIOS boot code in a UEFI-only disk
    const esp = FatVolume.open(subReadAt(read, layout.espOffset ?? 0), 33292 * 1024)
    expect(esp.geometry.type).toBe(32)
    const loader = esp.readFile('/EFI/BOOT/BOOTX64.EFI').data
    expect(parsePe(loader)).toMatchObject({ ok: true, info: { machine: 0x8664, subsystem: 10 } })
    expect(loader.toString('latin1')).toContain('SAMPLE')
    const root = openUfs(subReadAt(read, layout.rootOffset), layout.diskSize - layout.rootOffset)
    expect(root.sb.version).toBe(2)
    expect(root.readFile('/boot/kernel/kernel').data.equals(fakeKernel(layout.kernelSize, 2))).toBe(true)
    expect(root.readFile('/etc/fstab').data.toString()).toBe(SAMPLE_HVM_FSTAB)
    expect(root.lookup('/boot/loader').type).toBe('regular')
  })

  it('BIOS: pmbr-like code in the protective MBR and gptboot-like code in bootfs; no ESP', () => {
    const { layout, extents } = buildSampleHvmImage({ firmware: 'bios' })
    const read = extentsReadAt(extents)
    expect(parseGpt(read, layout.diskSize).entries.map((e) => e.name)).toEqual(['bootfs', 'swapfs', 'rootfs'])
    expect(read(0, 440).some((b) => b !== 0)).toBe(true)
    expect(read(layout.bootOffset ?? 0, 4)).toEqual(Buffer.from([0xfa, 0xf4, 0xeb, 0xfd]))
    expect(layout.espOffset).toBeNull()
  })

  it('both: the official amd64 order, bootfs, efiboot0, swapfs, rootfs', () => {
    const { layout, extents } = buildSampleHvmImage({ firmware: 'both' })
    expect(parseGpt(extentsReadAt(extents), layout.diskSize).entries.map((e) => e.name)).toEqual(['bootfs', 'efiboot0', 'swapfs', 'rootfs'])
  })
})

needs('sgdisk', 'grub-fstest', 'fsck.fat', 'mdir').describe('sample HVM image checked by sgdisk, grub-fstest, fsck.fat and mdir', () => {
  const tmp = tempDir('sample-hvm-')
  afterAll(tmp.cleanup)

  it('is a valid GPT disk whose ESP and UFS2 root real tools read', async () => {
    const path = join(tmp.dir, 'hvm.img')
    const layout = await writeSampleHvmImage(path, { firmware: 'both', seed: 5 })
    expect(runOk('sgdisk', ['-v', path])).toContain('No problems found')
    const kernel = join(tmp.dir, 'kernel')
    writeFileSync(kernel, fakeKernel(layout.kernelSize, 5))
    const cmp = run('grub-fstest', [path, 'cmp', '(loop0,gpt4)/boot/kernel/kernel', kernel])
    expect(cmp.stderr + String(cmp.status)).toBe('0')
    const espOffset = layout.espOffset ?? 0
    expect(runOk('mdir', ['-i', `${path}@@${espOffset}`, '-b', '::/EFI/BOOT']).trim()).toBe('::/EFI/BOOT/BOOTX64.EFI')
    const esp = join(tmp.dir, 'esp.img')
    writeFileSync(esp, readFileSync(path).subarray(espOffset, espOffset + 33292 * 1024))
    const fsck = run('fsck.fat', ['-n', esp])
    expect(fsck.status, fsck.stdout).toBe(0)
  })
})
