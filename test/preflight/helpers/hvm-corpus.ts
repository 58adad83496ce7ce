/**
 * The HVM preflight's corpus, built with real tools as a person would: sgdisk and sfdisk
 * for the tables, mkfs.fat + mcopy for ESPs, makefs -o version=2 for UFS2 roots. Boot
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

export interface HvmCase {
  esp?: Record<string, Buffer> | 'damaged'
  /** sgdisk type code of the ESP slot; EF00 by default. */
  espType?: string
  bios?: boolean
  mbrCode?: boolean
  root?: Record<string, Buffer> | 'zfs'
}

/** A GPT disk made by sgdisk: [freebsd-boot], [ESP], root (freebsd-ufs UFS2, or freebsd-zfs). */
export function gptImage(dir: string, name: string, c: HvmCase): string {
  const path = join(dir, `${name}.img`)
  const size = (ROOT_LBA + ROOT_MIB * 2048 + 34) * 512
  const extents = []
  const args = ['-o', '-a', '8'] // mkimg-like 4 KiB alignment, so bootfs can start at LBA 40
  if (c.bios === true) {
    args.push('-n', '1:40:1063', '-t', '1:A501', '-c', '1:bootfs')
    extents.push({ offset: 40 * 512, data: stubGptboot() })
  }
  if (c.esp !== undefined) {
    args.push('-n', `2:${ESP_LBA}:${ROOT_LBA - 1}`, '-t', `2:${c.espType ?? 'EF00'}`, '-c', '2:efiboot0')
    const fat = c.esp === 'damaged' ? esp(dir, name, {}) : esp(dir, name, c.esp)
    if (c.esp === 'damaged') fat.fill(0, 0, 512) // the boot sector wiped, as a stray dd leaves it
    extents.push({ offset: ESP_LBA * 512, data: fat })
  }
  const root = c.root ?? GOOD_ROOT
  if (root === 'zfs') {
    args.push('-n', `3:${ROOT_LBA}:0`, '-t', '3:A504', '-c', '3:zfs0')
    const ub = Buffer.alloc(1024)
    ub.writeBigUInt64LE(0x00bab10cn, 0)
    extents.push({ offset: ROOT_LBA * 512 + 128 * 1024, data: ub })
  } else {
    args.push('-n', `3:${ROOT_LBA}:0`, '-t', '3:A503', '-c', '3:rootfs')
    extents.push({ offset: ROOT_LBA * 512, data: makefs(dir, `${name}-ufs`, 'version=2', (ROOT_MIB - 1) * MiB, root) })
  }
  writeExtents(path, size, extents)
  runOk('sgdisk', [...args, path])
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
