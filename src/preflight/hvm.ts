import { performance } from 'node:perf_hooks'
import type { ReadAt } from '../image/read-at.js'
import { withDisk } from '../disk/open-disk.js'
import { biosVerdict } from './hvm-bios.js'
import { inspectEsp } from './hvm-esp.js'
import { hvmGuestWarnings } from './hvm-guest.js'
import { findHvmRoot, identifyPartitions } from './hvm-root.js'
import type { FirmwareVerdict, HvmPreflightReport } from './hvm-report.js'
import { uefiVerdict } from './hvm-uefi.js'
import { readLayout, type Layout } from './layout.js'
import { DEFAULT_KERNEL } from './preflight.js'
import type { Finding } from './report.js'
import { stageGuard } from './guard.js'

/**
 * The HVM preflight: what BIOS and UEFI firmware would each do with the disk, from the
 * partition table, the ESP's FAT file system and the root file system, with reasons
 * and fixes, plus warnings about the guest. Pure: `read` is the only access to the image.
 */
export function preflightHvm(read: ReadAt, size: number): HvmPreflightReport {
  const started = performance.now()
  const errors: Finding[] = []
  const guard = stageGuard(errors)

  const layout = guard(() => readLayout(read, size), EMPTY_LAYOUT)
  const parts = guard(() => identifyPartitions(read, size, layout), [])
  const esp = guard(() => inspectEsp(read, size, layout, parts), null)
  const found = guard(() => findHvmRoot(read, size, layout, parts, DEFAULT_KERNEL), null)
  const root = found?.root ?? null
  const bios = guard(() => biosVerdict(read, size, layout, parts, root), unknown('bios'))
  const uefi = guard(() => uefiVerdict(esp, parts, root), unknown('uefi'))
  const warnings: Finding[] = [
    ...layout.table.problems.map((p) => ({ code: 'partition-table', message: p, fix: 'rewrite the partition table (gpart recover, or sgdisk -e) and check the image again' })),
    ...(esp !== null && !esp.typed_esp && esp.loader === 'present'
      ? [
          {
            code: 'esp-untyped',
            message: `the FAT partition holding the EFI loader (${esp.where}) is not typed as an EFI System Partition; OVMF boots it, other firmware may not`,
            fix: 'gpart modify -t efi -i N ada0 (or sgdisk -t N:EF00)',
          },
        ]
      : []),
    ...guard(() => hvmGuestWarnings(root, found?.volume ?? null), []),
  ]
  return {
    mode: 'hvm',
    image_size: size,
    table: layout.table,
    partitions: parts,
    esp,
    root,
    verdicts: { bios, uefi },
    warnings: [...warnings, ...errors],
    elapsed_ms: Math.round((performance.now() - started) * 100) / 100,
  }
}

/** The same, on a file of any disk format (src/disk): opens it read-only, reads what it needs, closes it. */
export function preflightHvmFile(path: string): HvmPreflightReport {
  return withDisk(path, (disk) => preflightHvm(disk.readAt, disk.size))
}

const EMPTY_LAYOUT: Layout = { table: { kind: 'none', entries: [], problems: ['the partition table could not be read'] }, labels: [], candidates: [], unlabelled: [] }

const unknown = (firmware: FirmwareVerdict['firmware']): FirmwareVerdict => ({ firmware, boots: false, chain: [], problems: [] })
