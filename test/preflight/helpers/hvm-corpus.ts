/**
 * The HVM preflight's corpus, built with real tools as a person would: sfdisk for the
 * tables (GPT and MBR), mkfs.fat + mcopy for ESPs, makefs -o version=2 for UFS2 roots. Boot
 * code is the project's marked stubs (no Debian package ships FreeBSD's pmbr/gptboot);
 * a ZFS label is hand-made (no ZFS tool here), enough for the magic-number probe.
 */
import { mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { stubEfiApplication, stubGptboot, stubMbrCode } from '../../../src/image/boot-stubs.js'
import { buildDisklabel } from '../../../src/image/disklabel.js'
import { SAMPLE_HVM_FSTAB, SAMPLE_HVM_RC_CONF, SAMPLE_HVM_TTYS } from '../../../src/image/sample-hvm-image.js'
import { runOk } from '../../image/helpers/tools.js'
import { writeExtents } from '../../image/helpers/images.js'
import { KERNEL, makefs } from './corpus.js'

const MiB = 1024 * 1024
const ESP_LBA = 2048
const ESP_MIB = 16
const ROOT_LBA = ESP_LBA + ESP_MIB * 2048
const ROOT_MIB = 16

export const GOOD_ROOT: Record<string, Buffer> = {
  '/boot/loader': Buffer.from('\x7fELF loader stand-in'),
  '/boot/kernel/kernel': KERNEL,
  '/etc/fstab': Buffer.from(SAMPLE_HVM_FSTAB),
  '/etc/ttys': Buffer.from(SAMPLE_HVM_TTYS),
  '/etc/rc.conf': Buffer.from(SAMPLE_HVM_RC_CONF),
  '/usr/local/sbin/xe-daemon': Buffer.from('#!/bin/sh\n'),
}

/** A FAT16 ESP made by mkfs.fat, filled by mcopy -s from a local tree. */
function esp(dir: string, name: string, files: Record<string, Buffer>): Buffer {
  const img = join(dir, `${name}.esp`)
  runOk('mkfs.fat', ['-C', '-F', '16', '-n', 'EFISYS', img, String(ESP_MIB * 1024)])
  const tree = join(dir, `${name}-esp`)
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(join(tree, p, '..'), { recursive: true })
    writeFileSync(join(tree, p), data)
  }
  if (Object.keys(files).length > 0) runOk('mcopy', ['-s', '-i', img, join(tree, 'EFI'), '::/'])
  return readFileSync(img)
}

/** GPT partition type GUIDs by the 4-digit codes sgdisk and gdisk users know them by. */
const GPT_TYPES: Record<string, string> = {
  EF00: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', // EFI system partition
  '0700': 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', // Microsoft basic data
  A501: '83BD6B9D-7F41-11DC-BE0B-001560B84F0F', // freebsd-boot
  A503: '516E7CB6-6ECF-11D6-8FF8-00022D09712B', // freebsd-ufs
  A504: '516E7CBA-6ECF-11D6-8FF8-00022D09712B', // freebsd-zfs
}

export interface HvmCase {
  esp?: Record<string, Buffer> | 'damaged'
  /** Type code of the ESP slot, as sgdisk spells it (GPT_TYPES); EF00 by default. */
  espType?: string
  bios?: boolean
  mbrCode?: boolean
  root?: Record<string, Buffer> | 'zfs'
}

/**
 * A GPT disk made by sfdisk: [freebsd-boot], [ESP], root (freebsd-ufs UFS2, or freebsd-zfs),
 * at mkimg-like 4 KiB-aligned starts (bootfs at LBA 40). sfdisk rather than sgdisk: sgdisk
 * syncs every disk of the machine and sleeps 1 s after each write on Linux, ~1 s per image
 * here; its `sgdisk -v` still checks the sample images (test/image/sample-hvm-image.test.ts).
 */
export function gptImage(dir: string, name: string, c: HvmCase): string {
  const path = join(dir, `${name}.img`)
  const size = (ROOT_LBA + ROOT_MIB * 2048 + 34) * 512
  const extents = []
  const type = (code: string): string => {
    const guid = GPT_TYPES[code]
    if (!guid) throw new Error(`no GPT type GUID for code ${code}: add it to GPT_TYPES`)
    return guid
  }
  // sfdisk's partition number is the one its device name ends with.
  const lines = ['label: gpt', 'unit: sectors', 'first-lba: 34']
  if (c.bios === true) {
    lines.push(`${path}1: start=40, size=1024, type=${type('A501')}, name=bootfs`)
    extents.push({ offset: 40 * 512, data: stubGptboot() })
  }
  if (c.esp !== undefined) {
    lines.push(`${path}2: start=${ESP_LBA}, size=${ROOT_LBA - ESP_LBA}, type=${type(c.espType ?? 'EF00')}, name=efiboot0`)
    const fat = c.esp === 'damaged' ? esp(dir, name, {}) : esp(dir, name, c.esp)
    if (c.esp === 'damaged') fat.fill(0, 0, 512) // the boot sector wiped, as a stray dd leaves it
    extents.push({ offset: ESP_LBA * 512, data: fat })
  }
  const root = c.root ?? GOOD_ROOT
  if (root === 'zfs') {
    lines.push(`${path}3: start=${ROOT_LBA}, type=${type('A504')}, name=zfs0`)
    const ub = Buffer.alloc(1024)
    ub.writeBigUInt64LE(0x00bab10cn, 0)
    extents.push({ offset: ROOT_LBA * 512 + 128 * 1024, data: ub })
  } else {
    lines.push(`${path}3: start=${ROOT_LBA}, type=${type('A503')}, name=rootfs`)
    extents.push({ offset: ROOT_LBA * 512, data: makefs(dir, `${name}-ufs`, 'version=2', (ROOT_MIB - 1) * MiB, root) })
  }
  writeExtents(path, size, extents)
  runOk('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', path], `${lines.join('\n')}\n`)
  if (c.mbrCode === true) patch(path, 0, stubMbrCode())
  return path
}

/** An MBR disk made by sfdisk: one FreeBSD slice (active or not), boot1 stand-in, label, UFS2 in a at +16. */
export function mbrImage(dir: string, name: string, active: boolean): string {
  const path = join(dir, `${name}.img`)
  const fs = makefs(dir, `${name}-ufs`, 'version=2', ROOT_MIB * MiB, GOOD_ROOT)
  const slice = 63
  const sliceSectors = fs.length / 512 + 16
  const boot1 = Buffer.alloc(512)
  stubMbrCode().copy(boot1)
  boot1.writeUInt16LE(0xaa55, 510)
  writeExtents(path, (slice + sliceSectors) * 512, [
    { offset: slice * 512, data: boot1 },
    { offset: slice * 512 + 512, data: buildDisklabel({ sliceSectors, partitionOffset: 16, offsetBase: slice }) },
    { offset: (slice + 16) * 512, data: fs },
  ])
  runOk('sfdisk', ['--no-reread', '--no-tell-kernel', path], `label: dos\nunit: sectors\nstart=${slice}, size=${sliceSectors}, type=a5${active ? ', bootable' : ''}\n`)
  patch(path, 0, stubMbrCode())
  return path
}

function patch(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+')
  try {
    writeSync(fd, data, 0, data.length, offset)
  } finally {
    closeSync(fd)
  }
}

export const EFI = (machine = 0x8664): Buffer => {
  const b = stubEfiApplication()
  b.writeUInt16LE(machine, 0x84)
  return b
}
