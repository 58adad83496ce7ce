import { stat } from 'node:fs/promises'
import { UserError, EXIT } from '../errors.js'
import { preflightHvmFile } from '../preflight/hvm.js'
import { inspectImage } from '../disk/inspect.js'
import { FIRMWARES, type Firmware, type HvmPreflightReport } from '../preflight/hvm-report.js'
import { preflightFile } from '../preflight/preflight.js'
import { FLAVOURS, type Flavour, type PreflightReport } from '../preflight/report.js'
import { loadRecipe } from '../recipe/load.js'
import type { Recipe } from '../recipe/schema.js'

export interface CheckImageArgs {
  /** Positionals after "check-image": exactly one image. */
  files: string[]
  recipe?: string | undefined
  /** Which verdicts must boot: upstream|xcp-ng|both for a PV recipe, bios|uefi|both for an HVM one. */
  flavour?: string | undefined
  /** Check as an HVM guest with this firmware whatever the recipe says (bios|uefi|both). */
  firmware?: string | undefined
}

export type CheckImageResult =
  | { mode: 'pv'; image: string; recipe: string; report: PreflightReport; checked: Flavour[]; bootable: boolean }
  | { mode: 'hvm'; image: string; recipe: string; report: HvmPreflightReport; checked: Firmware[]; bootable: boolean }

/** The recipe whose PV settings are checked when --recipe is not given: the one the README runs. */
export const DEFAULT_CHECK_RECIPE = 'freebsd-9'

/**
 * `provision check-image <file>`: the preflight alone, on a local file, for a recipe's
 * boot mode. PV: both pygrub flavours must boot by default (the image may end on a plain
 * Xen host or on XCP-ng). HVM: the recipe's firmware must boot; the other is reported too.
 */
export async function runCheckImage(args: CheckImageArgs): Promise<CheckImageResult> {
  const [image, extra] = args.files
  if (image === undefined) {
    throw new UserError({
      what: 'No image given',
      why: 'check-image needs the path of a disk image (raw, qcow2, VHD or VMDK, optionally xz or gzip)',
      fix: 'run e.g. provision check-image ./FreeBSD-PV.img',
      exitCode: EXIT.usage,
    })
  }
  if (extra !== undefined) {
    throw new UserError({ what: `Unexpected argument "${extra}"`, why: 'check-image takes one image', fix: 'check one image per run (see provision check-image --help)', exitCode: EXIT.usage })
  }
  const recipeName = args.recipe ?? DEFAULT_CHECK_RECIPE
  const { file, recipe } = await loadRecipe(recipeName)
  const boot = hvmBoot(recipe)
  const hvmFirmware = args.firmware !== undefined ? parseFirmware(args.firmware, '--firmware') : boot !== null ? [boot.firmware] : null
  const checkedHvm = hvmFirmware === null ? null : args.flavour !== undefined ? parseFirmware(args.flavour, '--flavour') : hvmFirmware
  const checkedPv = checkedHvm === null ? parseFlavour(args.flavour) : null
  try {
    const s = await stat(image)
    if (!s.isFile()) throw new Error('not a regular file')
  } catch (e) {
    throw new UserError({ what: `Cannot read the image ${image}`, why: (e as Error).message, fix: 'give the path of a disk image', code: 'image-unreadable' })
  }
  // Any format, compressed or not (src/disk): decompressed to a sparse spool if need be, never to a raw copy.
  await inspectImage(image)
  if (checkedHvm !== null) {
    const report = preflightHvmFile(image)
    return { mode: 'hvm', image, recipe: file, report, checked: checkedHvm, bootable: checkedHvm.every((f) => report.verdicts[f].boots) }
  }
  const report = preflightFile(image, recipe.pv)
  const checked = checkedPv ?? [...FLAVOURS]
  return { mode: 'pv', image, recipe: file, report, checked, bootable: checked.every((f) => report.verdicts[f].boots) }
}

/** The recipe's HVM firmware, or null for a PV/PVH recipe (those go through pygrub). */
function hvmBoot(recipe: Recipe): { firmware: Firmware } | null {
  return recipe.boot.mode === 'hvm' ? { firmware: recipe.boot.firmware } : null
}

function parseFirmware(value: string, flag: string): Firmware[] {
  if (value === 'both') return [...FIRMWARES]
  const one = FIRMWARES.find((f) => f === value)
  if (one !== undefined) return [one]
  throw new UserError({ what: `${flag} ${value} is not a firmware`, why: 'an HVM guest boots with bios or uefi firmware', fix: `pass ${flag} bios, uefi or both`, exitCode: EXIT.usage })
}

function parseFlavour(value: string | undefined): Flavour[] {
  if (value === undefined || value === 'both') return [...FLAVOURS]
  const one = FLAVOURS.find((f) => f === value)
  if (one !== undefined) return [one]
  throw new UserError({
    what: `--flavour ${value} is not a pygrub flavour`,
    why: 'the preflight knows upstream (Xen, Debian) and xcp-ng; an HVM recipe takes bios, uefi or both',
    fix: 'pass --flavour upstream, xcp-ng or both (the default)',
    exitCode: EXIT.usage,
  })
}
