import { afterAll, expect } from 'vitest'
import { preflightHvmFile } from '../../src/preflight/hvm.js'
import type { HvmPreflightReport } from '../../src/preflight/hvm-report.js'
import { tempDir } from '../image/helpers/tools.js'
import { needs } from '../support/oracles.js'
import { EFI, GOOD_ROOT, gptImage, mbrImage } from './helpers/hvm-corpus.js'

const codes = (r: HvmPreflightReport, f: 'bios' | 'uefi'): string[] => r.verdicts[f].problems.map((p) => p.code)
const warnings = (r: HvmPreflightReport): string[] => r.warnings.map((w) => w.code)
const LOADER = { '/EFI/BOOT/BOOTX64.EFI': EFI() }

const tools = needs('sfdisk', 'mkfs.fat', 'mcopy', 'makefs')

tools.describe('HVM preflight on disks built with sfdisk, mkfs.fat, mcopy and makefs', () => {
  const tmp = tempDir('hvm-corpus-')
  afterAll(tmp.cleanup)

  tools.it('UEFI: an ESP with BOOTX64.EFI and a UFS2 root boots; without boot code BIOS does not', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'uefi', { esp: LOADER }))
    expect(r.verdicts.uefi).toMatchObject({ boots: true, problems: [] })
    expect(r.esp).toMatchObject({ typed_esp: true, fs: 'FAT16', loader: 'present', loader_kind: 'x64 EFI application' })
    expect(r.root).toMatchObject({ fs: 'UFS2', os: 'freebsd', loader: 'present', kernel: 'present' })
    expect(codes(r, 'bios')).toEqual(['no-boot-code'])
    expect(r.warnings).toEqual([])
  })

  tools.it('UEFI refuses a disk with no ESP, with the reason', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'no-esp', {}))
    expect(r.verdicts.uefi.boots).toBe(false)
    expect(r.verdicts.uefi.problems[0]).toMatchObject({ code: 'no-esp', message: expect.stringContaining('no EFI System Partition') })
  })

  tools.it('UEFI refuses a damaged ESP and says what is damaged', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'esp-damaged', { esp: 'damaged' }))
    expect(codes(r, 'uefi')).toEqual(['esp-damaged'])
    expect(r.verdicts.uefi.problems[0]?.message).toMatch(/GPT partition 2 \(efi\).*no readable FAT file system: no 0x55AA signature/)
  })

  tools.it('an ESP with only \\EFI\\FreeBSD\\loader.efi: refused, and the fix names the file to copy', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'no-loader', { esp: { '/EFI/FreeBSD/loader.efi': EFI() } }))
    expect(codes(r, 'uefi')).toEqual(['no-efi-loader'])
    expect(r.verdicts.uefi.problems[0]?.message).toContain('/EFI/FreeBSD/loader.efi is there')
    expect(r.verdicts.uefi.problems[0]?.fix).toBe('copy /EFI/FreeBSD/loader.efi to /EFI/BOOT/BOOTX64.EFI on the ESP')
  })

  tools.it('an ARM64 BOOTX64.EFI is not an x64 EFI application', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'arm64', { esp: { '/EFI/BOOT/BOOTX64.EFI': EFI(0xaa64) } }))
    expect(codes(r, 'uefi')).toEqual(['efi-loader-not-x64'])
    expect(r.verdicts.uefi.problems[0]?.message).toContain('ARM64 EFI application')
  })

  tools.it('a FAT partition not typed efi still boots under OVMF, with a warning', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'untyped', { esp: LOADER, espType: '0700' }))
    expect(r.verdicts.uefi.boots).toBe(true)
    expect(warnings(r)).toContain('esp-untyped')
  })

  tools.it('BIOS: pmbr code plus freebsd-boot boots through /boot/loader; without the MBR code it does not', () => {
    const good = preflightHvmFile(gptImage(tmp.dir, 'bios', { bios: true, mbrCode: true }))
    expect(good.verdicts.bios).toMatchObject({
      boots: true,
      chain: ['boot code in the MBR', 'gptboot in GPT partition 1', expect.stringContaining('/boot/loader'), expect.stringContaining('/boot/kernel/kernel')],
    })
    expect(codes(good, 'uefi')).toEqual(['no-esp'])
    expect(codes(preflightHvmFile(gptImage(tmp.dir, 'bios-nocode', { bios: true })), 'bios')).toEqual(['no-boot-code'])
    expect(codes(preflightHvmFile(gptImage(tmp.dir, 'bios-noboot', { mbrCode: true })), 'bios')).toEqual(['no-freebsd-boot'])
  })

  tools.it('BIOS on a root without /boot/loader: gptboot has nothing to start', () => {
    const { '/boot/loader': _loader, ...noLoader } = GOOD_ROOT
    const r = preflightHvmFile(gptImage(tmp.dir, 'no-bootloader', { bios: true, mbrCode: true, esp: LOADER, root: noLoader }))
    expect(codes(r, 'bios')).toEqual(['loader-missing'])
    expect(r.verdicts.uefi.boots).toBe(true) // loader.efi loads the kernel itself
  })

  tools.it('MBR: the active FreeBSD slice with boot1 boots; the same slice inactive does not', () => {
    const active = preflightHvmFile(mbrImage(tmp.dir, 'mbr-active', true))
    expect(active.verdicts.bios).toMatchObject({ boots: true })
    expect(active.root).toMatchObject({ where: 'slice 1, partition a', fs: 'UFS2' })
    expect(codes(preflightHvmFile(mbrImage(tmp.dir, 'mbr-inactive', false)), 'bios')).toEqual(['no-active-slice'])
  })

  tools.it('a ZFS root is recognised and reported as such, its contents unchecked', () => {
    const r = preflightHvmFile(gptImage(tmp.dir, 'zfs', { esp: LOADER, root: 'zfs' }))
    expect(r.root).toMatchObject({ fs: 'ZFS', os: 'freebsd', kernel: 'unchecked' })
    expect(r.verdicts.uefi.boots).toBe(true)
    expect(warnings(r)).toEqual(['guest-unchecked'])
  })

  tools.it('guest warnings: a PV root device, no console getty, no guest tools', () => {
    const root = {
      ...GOOD_ROOT,
      '/etc/fstab': Buffer.from('/dev/xbd0s1a / ufs rw 1 1\n'),
      '/etc/ttys': Buffer.from('ttyv0 "/usr/libexec/getty Pc" xterm off secure\n'),
      '/usr/local/sbin/xe-daemon': Buffer.alloc(0),
    }
    delete (root as Record<string, Buffer>)['/usr/local/sbin/xe-daemon']
    const r = preflightHvmFile(gptImage(tmp.dir, 'guest', { esp: LOADER, root }))
    expect(r.verdicts.uefi.boots).toBe(true)
    expect(warnings(r)).toEqual(['root-not-hvm', 'no-console-getty', 'no-guest-tools'])
    expect(r.warnings[0]?.message).toContain('ada0')
  })
})
