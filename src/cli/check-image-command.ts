import { stat } from 'node:fs/promises'
import { UserError, EXIT } from '../errors.js'
import { preflightFile } from '../preflight/preflight.js'
import { FLAVOURS, type Flavour, type PreflightReport } from '../preflight/report.js'
import { loadRecipe } from '../recipe/load.js'

export interface CheckImageArgs {
  /** Positionals after "check-image": exactly one image. */
  files: string[]
  recipe?: string | undefined
  flavour?: string | undefined
}

export interface CheckImageResult {
  image: string
  recipe: string
  report: PreflightReport
  /** The flavours that must boot for exit code 0. */
  checked: Flavour[]
  bootable: boolean
}

/** The recipe whose PV settings are checked when --recipe is not given: the one the README runs. */
export const DEFAULT_CHECK_RECIPE = 'freebsd-9'

/**
 * `provision check-image <file>`: the preflight alone, on a local file, with the PV
 * settings of a recipe. Both pygrub flavours must boot by default: the image may end
 * on a plain Xen host or on XCP-ng, and an image that boots on both is the safe one.
 */
export async function runCheckImage(args: CheckImageArgs): Promise<CheckImageResult> {
  const [image, extra] = args.files
  if (image === undefined) {
    throw new UserError({ what: 'No image given', why: 'check-image needs the path of a raw disk image', fix: 'run e.g. provision check-image ./FreeBSD-PV.img', exitCode: EXIT.usage })
  }
  if (extra !== undefined) {
    throw new UserError({ what: `Unexpected argument "${extra}"`, why: 'check-image takes one image', fix: 'check one image per run (see provision --help)', exitCode: EXIT.usage })
  }
  const checked = parseFlavour(args.flavour)
  const recipeName = args.recipe ?? DEFAULT_CHECK_RECIPE
  const { file, recipe } = await loadRecipe(recipeName)
  try {
    const s = await stat(image)
    if (!s.isFile()) throw new Error('not a regular file')
  } catch (e) {
    throw new UserError({ what: `Cannot read the image ${image}`, why: (e as Error).message, fix: 'give the path of a raw disk image' })
  }
  const report = preflightFile(image, recipe.pv)
  return { image, recipe: file, report, checked, bootable: checked.every((f) => report.verdicts[f].boots) }
}

function parseFlavour(value: string | undefined): Flavour[] {
  if (value === undefined || value === 'both') return [...FLAVOURS]
  const one = FLAVOURS.find((f) => f === value)
  if (one !== undefined) return [one]
  throw new UserError({ what: `--flavour ${value} is not a pygrub flavour`, why: 'the preflight knows upstream (Xen, Debian) and xcp-ng', fix: 'pass --flavour upstream, xcp-ng or both (the default)', exitCode: EXIT.usage })
}
