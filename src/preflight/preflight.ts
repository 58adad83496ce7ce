import { performance } from 'node:perf_hooks'
import { parseBootloaderArgs } from '../image/bootloader-args.js'
import type { ReadAt } from '../image/read-at.js'
import { withDisk } from '../disk/open-disk.js'
import { diskWarnings } from './disk-warnings.js'
import { guestWarnings } from './guest-config.js'
import { readLayout, type Layout } from './layout.js'
import { proposeOffsetFix } from './offset-fix.js'
import type { Finding, Flavour, FlavourVerdict, PreflightReport, PvSettings } from './report.js'
import { stageGuard } from './guard.js'
import { findRoot } from './root-fs.js'
import { flavourVerdict, type VerdictInput } from './verdict.js'

/** What pygrub-booted FreeBSD guests use when PV-bootloader-args names no kernel. */
export const DEFAULT_KERNEL = '/boot/kernel/kernel'

/**
 * Everything the preflight knows about a disk image, from metadata and the kernel
 * pygrub would extract: layout, root file system, each pygrub flavour's verdict with
 * reasons, an --offset fix when that is all it takes, and warnings about the guest's
 * configuration. Pure: `read` is the only access to the image.
 */
export function preflight(read: ReadAt, size: number, pv: PvSettings): PreflightReport {
  const started = performance.now()
  const parsed = parseBootloaderArgs(pv.bootloader_args, 'upstream')
  const kernelPath = parsed.ok && parsed.value.kernel ? parsed.value.kernel : DEFAULT_KERNEL
  const errors: Finding[] = []
  const guard = stageGuard(errors)

  const layout = guard(() => readLayout(read, size), EMPTY_LAYOUT)
  const found = guard(() => findRoot(read, size, layout.candidates, kernelPath), null)
  const input: VerdictInput = { read, size, layout, found, kernelPath, bootloaderArgs: pv.bootloader_args }
  const upstream = guard(() => flavourVerdict(input, 'upstream'), unknownVerdict('upstream'))
  const xcpng = guard(() => flavourVerdict(input, 'xcp-ng'), unknownVerdict('xcp-ng'))
  const kernelArgs = `${pv.args} ${parsed.ok ? (parsed.value.args ?? '') : ''}`
  const warnings: Finding[] = [...guard(() => diskWarnings(layout, found, size), []), ...guard(() => guestWarnings(found?.volume ?? null, kernelArgs), [])]
  const offsetFix = guard(() => proposeOffsetFix(input, found, [upstream, xcpng]), null)
  return {
    image_size: size,
    bootloader_args: pv.bootloader_args,
    pv_args: pv.args,
    kernel_path: kernelPath,
    table: layout.table,
    labels: layout.labels,
    root: found?.root ?? null,
    verdicts: { upstream, 'xcp-ng': xcpng },
    offset_fix: offsetFix,
    warnings: [...warnings, ...errors],
    elapsed_ms: Math.round((performance.now() - started) * 100) / 100,
  }
}

/** The same, on a file of any disk format (src/disk): opens it read-only, reads what it needs, closes it. */
export function preflightFile(path: string, pv: PvSettings): PreflightReport {
  return withDisk(path, (disk) => preflight(disk.readAt, disk.size, pv))
}

const EMPTY_LAYOUT: Layout = { table: { kind: 'none', entries: [], problems: ['the partition table could not be read'] }, labels: [], candidates: [], unlabelled: [] }

const unknownVerdict = (flavour: Flavour): FlavourVerdict => ({
  flavour,
  boots: false,
  pygrub: { ok: false, message: 'not predicted', offset: null, kernel_bytes: null },
  problems: [],
})
