import { UserError, EXIT } from '../errors.js'
import { pygrubBoot } from '../image/pygrub.js'
import { openDisk } from '../disk/open-disk.js'
import type { VirtualDisk } from '../disk/virtual-disk.js'
import { elfClass } from '../image/elf-class.js'
import { parseBootloaderArgs } from '../image/bootloader-args.js'
import { preflightHvmFile } from '../preflight/hvm.js'
import type { HvmPreflightReport } from '../preflight/hvm-report.js'
import { preflightFile } from '../preflight/preflight.js'
import type { FlavourVerdict, PreflightReport } from '../preflight/report.js'
import type { Recipe } from '../recipe/schema.js'
import type { PreflightSummary, ProvisionEvent } from './types.js'

export interface GateOptions {
  image: string
  recipe: Recipe
  skipPreflight?: boolean
  fixOffset?: boolean
  emit: (e: ProvisionEvent) => void
}

/**
 * The preflight as provision applies it, before any XAPI call: the upstream pygrub
 * must boot the image (what the simulator runs, and what the HOWTO's hosts run);
 * XCP-ng's pygrub failing is a warning, because that flavour is reconstructed from
 * its patches rather than run (docs/preflight.md). --fix-offset applies the proposed
 * --offset; --skip-preflight uploads without looking.
 */
export function preflightGate(o: GateOptions): { recipe: Recipe; preflight: PreflightSummary } {
  if (o.recipe.boot.mode === 'hvm') return hvmGate(o)
  const gated = pygrubGate(o)
  // Which kernel pygrub loads decides 32- or 64-bit PV (host-check.ts asks the host about both).
  return { ...gated, preflight: { ...gated.preflight, kernel_elf_class: kernelElfClass(o.image, gated.recipe) } }
}

/**
 * HVM images boot from their own firmware, not pygrub: the HVM preflight (src/preflight/hvm.ts)
 * says whether the recipe's firmware (BIOS or UEFI) finds something to boot, before any
 * XAPI call; --skip-preflight uploads without looking.
 */
function hvmGate(o: GateOptions): { recipe: Recipe; preflight: PreflightSummary } {
  if (o.recipe.boot.mode !== 'hvm') throw new Error('internal: hvmGate on a non-hvm recipe')
  const firmware = o.recipe.boot.firmware
  if (o.skipPreflight) {
    const note = `--skip-preflight: the image was not checked; the ${firmware.toUpperCase()} firmware may find nothing to boot, after the upload`
    o.emit({ type: 'warning', message: note })
    return { recipe: o.recipe, preflight: { skipped: true, bootloader_args: '', offset_fixed: null, warnings: [], kernel_elf_class: null } }
  }
  let report: HvmPreflightReport
  try {
    report = preflightHvmFile(o.image)
  } catch (e) {
    throw new UserError({ what: `Cannot read the image ${o.image}`, why: (e as Error).message, fix: 'check the path and its permissions', code: 'image-unreadable' }, { cause: e })
  }
  const verdict = report.verdicts[firmware]
  if (!verdict.boots) {
    const other = firmware === 'uefi' ? 'bios' : 'uefi'
    const hint = report.verdicts[other].boots ? `; the image boots with ${other.toUpperCase()}: set boot.firmware: ${other} (recipe ${other === 'bios' ? 'freebsd-13' : 'freebsd-14'})` : ''
    throw new UserError({
      code: 'image-not-bootable',
      what: `The image ${o.image} cannot boot with ${firmware.toUpperCase()} firmware`,
      why: verdict.problems.map((p) => p.message).join('; ') || `the boot chain stops after: ${verdict.chain.join(' → ') || 'nothing'}`,
      fix: `${[...new Set(verdict.problems.map((p) => p.fix))].join('; ') || 'see provision check-image --recipe'}${hint}; or pass --skip-preflight to upload it anyway`,
      exitCode: EXIT.failure,
    })
  }
  const notes = report.warnings.map((w) => `${w.message} (fix: ${w.fix})`)
  for (const message of notes) o.emit({ type: 'warning', message })
  return { recipe: o.recipe, preflight: { skipped: false, bootloader_args: '', offset_fixed: null, warnings: notes, kernel_elf_class: null } }
}

/** The ELF class of the kernel upstream pygrub would load, or null when it would load none. */
export function kernelElfClass(image: string, recipe: Recipe): 32 | 64 | null {
  const args = parseBootloaderArgs(recipe.pv.bootloader_args, 'upstream')
  if (!args.ok) return null
  let disk: VirtualDisk
  try {
    disk = openDisk(image)
  } catch {
    return null // checkImageFile reports an unreadable image with its reason
  }
  try {
    const r = pygrubBoot(disk.readAt, disk.size, {
      ...(args.value.kernel !== undefined ? { kernel: args.value.kernel } : {}),
      ...(args.value.offset !== undefined ? { offset: args.value.offset } : {}),
      flavour: 'upstream',
    })
    return r.ok ? elfClass(r.kernel.subarray(0, 16)) : null
  } finally {
    disk.close()
  }
}

function pygrubGate(o: GateOptions): { recipe: Recipe; preflight: PreflightSummary } {
  if (o.skipPreflight) {
    o.emit({ type: 'warning', message: '--skip-preflight: the image was not checked; pygrub may fail only at VM start, after the upload' })
    return { recipe: o.recipe, preflight: { skipped: true, bootloader_args: o.recipe.pv.bootloader_args, offset_fixed: null, warnings: [] } }
  }
  let report: PreflightReport
  try {
    report = preflightFile(o.image, o.recipe.pv)
  } catch (e) {
    throw new UserError({ what: `Cannot read the image ${o.image}`, why: (e as Error).message, fix: 'check the path and its permissions', code: 'image-unreadable' }, { cause: e })
  }
  const { upstream, 'xcp-ng': xcpng } = report.verdicts
  const fix = report.offset_fix
  const notes: string[] = []
  let recipe = o.recipe
  if ((!upstream.boots || !xcpng.boots) && fix !== null && o.fixOffset) {
    recipe = { ...recipe, pv: { ...recipe.pv, bootloader_args: fix.bootloader_args } }
    notes.push(`--fix-offset: PV-bootloader-args set to "${fix.bootloader_args}" (${fix.why})`)
  } else if (!upstream.boots) {
    throw new UserError({
      what: `The image ${o.image} cannot boot`,
      why: reasons(upstream),
      fix: `${remedy(report)}; or pass --skip-preflight to upload it anyway`,
      code: 'image-not-bootable',
      exitCode: EXIT.failure,
    })
  } else if (!xcpng.boots) {
    notes.push(`an XCP-ng host's pygrub would not boot this image: ${reasons(xcpng)} (fix: ${remedy(report)})`)
  }
  notes.push(...report.warnings.map((w) => `${w.message} (fix: ${w.fix})`))
  for (const message of notes) o.emit({ type: 'warning', message })
  const offsetFixed = recipe === o.recipe ? null : (fix?.offset ?? null)
  return { recipe, preflight: { skipped: false, bootloader_args: recipe.pv.bootloader_args, offset_fixed: offsetFixed, warnings: notes } }
}

function reasons(v: FlavourVerdict): string {
  const why = v.problems.map((p) => p.message).join('; ')
  return v.pygrub.ok ? why : `pygrub would fail with "${v.pygrub.message}": ${why || 'see provision check-image'}`
}

function remedy(report: PreflightReport): string {
  if (report.offset_fix !== null) {
    return `run again with --fix-offset (PV-bootloader-args becomes "${report.offset_fix.bootloader_args}"), or set pv.bootloader_args to that in the recipe`
  }
  return [...new Set([...report.verdicts.upstream.problems, ...report.verdicts['xcp-ng'].problems].map((p) => p.fix))].join('; ')
}
