import { parseBootloaderArgs } from '../image/bootloader-args.js'
import { pygrubBoot, type PygrubBootResult } from '../image/pygrub.js'
import { pygrubPartitionOffsets } from '../image/pygrub-partitions.js'
import type { ReadAt } from '../image/read-at.js'
import { explainFailure } from './explain.js'
import type { Layout } from './layout.js'
import type { Finding, Flavour, FlavourVerdict } from './report.js'
import type { FoundRoot } from './root-fs.js'

export interface VerdictInput {
  read: ReadAt
  size: number
  layout: Layout
  found: FoundRoot | null
  kernelPath: string
  bootloaderArgs: string
}

const ELF_MAGIC = Buffer.from('\x7fELF', 'latin1')
const TRUNCATED_FIX = 'copy the image again in full; if the copy is complete, its file system is damaged (run fsck_ffs, or rebuild it)'

/**
 * One flavour's verdict: run the pygrub emulation with the recipe's PV-bootloader-args,
 * then, if pygrub would succeed, check what it would hand Xen (a whole ELF file).
 */
export function flavourVerdict(input: VerdictInput, flavour: Flavour): FlavourVerdict {
  const args = parseBootloaderArgs(input.bootloaderArgs, flavour)
  if (!args.ok) {
    return fail(flavour, args.message, [{ code: 'bootloader-args', message: `pygrub rejects PV-bootloader-args: ${args.message}`, fix: `set pv.bootloader_args to e.g. --kernel=${input.kernelPath}` }])
  }
  const kernel = args.value.kernel === '' ? undefined : args.value.kernel
  const offset = args.value.offset
  const result = emulate(input, { flavour, ...(kernel !== undefined ? { kernel } : {}), ...(offset !== undefined ? { offset } : {}) })
  if (!result.ok && result.aborted === true) {
    const where = input.found?.root.where ?? 'the disk'
    return fail(flavour, result.message, [
      { code: 'fs-damaged', message: `pygrub would crash or hang on the damaged file system in ${where} (${result.message})`, fix: 'run fsck_ffs on it, or rebuild the image' },
    ])
  }
  if (!result.ok) {
    const listed = offset === undefined ? pygrubPartitionOffsets(input.read, input.size) : null
    const problems = explainFailure({
      read: input.read,
      size: input.size,
      layout: input.layout,
      found: input.found,
      kernelPath: input.kernelPath,
      kernelGiven: kernel !== undefined,
      offsetArg: offset,
      offsets: listed?.ok === true ? listed.offsets : [],
      flavour,
      message: result.message,
    })
    return fail(flavour, result.message, problems)
  }
  const problems: Finding[] = []
  const root = input.found?.root
  if (result.kernel.length < result.sizeLo) {
    problems.push({
      code: 'kernel-truncated',
      message: `pygrub would extract only ${result.kernel.length} of the ${result.sizeLo} bytes of ${result.path}: part of it lies past the end of the image`,
      fix: TRUNCATED_FIX,
    })
  } else if (root?.start === result.offset && root.kernel_complete === false && result.path === input.kernelPath) {
    problems.push({
      code: 'kernel-truncated',
      message: `blocks of ${result.path} lie past the end of the image: pygrub would extract ${result.kernel.length} bytes with zeros in their place`,
      fix: TRUNCATED_FIX,
    })
  } else if (!result.kernel.subarray(0, 4).equals(ELF_MAGIC)) {
    problems.push({ code: 'kernel-not-elf', message: `${result.path} is not an ELF file: Xen's domain builder cannot load it`, fix: 'install a FreeBSD kernel built for Xen PV (KERNCONF=XEN) there' })
  }
  return {
    flavour,
    boots: problems.length === 0,
    pygrub: { ok: true, message: null, offset: result.offset, kernel_bytes: result.kernel.length },
    problems,
  }
}

function fail(flavour: Flavour, message: string, problems: Finding[]): FlavourVerdict {
  return { flavour, boots: false, pygrub: { ok: false, message, offset: null, kernel_bytes: null }, problems }
}

/** The emulation never throws on bad input; anything else is a bug, reported as a failed check rather than a crash. */
function emulate(input: VerdictInput, opts: Parameters<typeof pygrubBoot>[2]): PygrubBootResult {
  try {
    return pygrubBoot(input.read, input.size, opts)
  } catch (e) {
    return { ok: false, message: `the pygrub emulation stopped: ${e instanceof Error ? e.message : String(e)}` }
  }
}
