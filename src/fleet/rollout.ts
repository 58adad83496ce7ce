import { UserError, EXIT } from '../errors.js'
import { checkImageFile, mapImage } from '../provision/run.js'
import { preflightGate } from '../provision/preflight-gate.js'
import { loadFleet, resolveFleet } from './load.js'
import { vmSpecs, type VmSpec } from './spec.js'
import { ImageHashes, type ImageHashOptions } from './image-hash.js'
import { openPool, type FailedPool, type OpenPool } from './pools.js'
import { plan, type ImageInfo } from './planner.js'
import { execute } from './execute.js'
import { assertPoolsRunnable } from './runnable.js'
import { buildResult } from './result.js'
import { requireConsent } from '../provision/consent.js'
import { disruption } from './disruption.js'
import { DEFAULT_RETRY, type RetryPolicy } from './scoped.js'
import type { RolloutOptions, RolloutResult } from './types.js'
import { checkedUserData } from './first-boot.js'
import { assignAddresses } from './addresses.js'
import { assignWaves } from './waves.js'

export const DEFAULT_TOTAL = 16
export const DEFAULT_PER_HOST = 4

/**
 * Which preflight a VM's image gets (src/provision/preflight-gate.ts decides by the same
 * boot settings): the HVM one for the recipe's firmware, pygrub for its bootloader arguments.
 */
const preflightKey = (s: VmSpec): string => {
  const b = s.recipe.boot
  return `${s.image}\0${b.mode === 'hvm' ? `hvm ${b.firmware}` : `pygrub ${s.recipe.pv.bootloader_args}`}`
}

/**
 * provision's preflight advice, made valid for a rollout (which has no --fix-offset): the
 * offset the preflight proposes goes into the recipe's pv.bootloader_args.
 */
function forRollout<T>(gate: () => T): T {
  try {
    return gate()
  } catch (e) {
    if (!(e instanceof UserError)) throw e
    const fix = e.info.fix.replace(
      /run again with --fix-offset \(PV-bootloader-args becomes ("[^"]*")\), or set pv\.bootloader_args to that in the recipe/,
      'set pv.bootloader_args to $1 in the recipe the group uses',
    )
    throw new UserError({ ...e.info, code: e.code, fix }, { cause: e.cause })
  }
}

/**
 * Every image once: it must exist, fit every VDI that holds it and pass provision's own
 * preflight gate for each boot setting that uses it; its hash names the base VDI. Returns
 * also the ELF class of the kernel pygrub would load, per preflight (the 32-bit PV question).
 */
async function mapImages(specs: VmSpec[], skipPreflight: boolean, hashing: ImageHashOptions): Promise<{ images: Map<string, ImageInfo>; kernelBits: Map<string, 32 | 64 | null> }> {
  const hashes = new ImageHashes(hashing)
  const out = new Map<string, ImageInfo>()
  const kernelBits = new Map<string, 32 | 64 | null>()
  for (const s of specs) {
    // The same gate as provision, once per image and boot setting, before any XAPI call.
    const key = preflightKey(s)
    if (!skipPreflight && !kernelBits.has(key)) {
      // Decompressed and checked first (src/disk): the preflight reads it synchronously.
      await checkImageFile(s.image, s.recipe.vdi.virtual_size)
      const { preflight } = forRollout(() => preflightGate({ image: s.image, recipe: s.recipe, emit: () => undefined }))
      kernelBits.set(key, preflight.kernel_elf_class ?? null)
    }
    if (out.has(s.image)) continue
    const smallest = Math.min(...specs.filter((o) => o.image === s.image).map((o) => o.recipe.vdi.virtual_size))
    let map
    try {
      map = await mapImage(s.image, smallest)
    } catch (e) {
      if (!(e instanceof UserError)) throw e
      throw new UserError({
        ...e.info,
        fix: e.info.fix.replace('pass --image with a disk image (raw, qcow2, VHD or VMDK, optionally xz or gzip), or set image in the recipe', 'set image in the fleet group or in the recipe'),
        exitCode: EXIT.usage,
      })
    }
    out.set(s.image, { map, sha256: await hashes.get(s.image, map) })
  }
  return { images: out, kernelBits }
}

/**
 * Rolls a fleet out: validate the file and images, log in to every pool and read it,
 * plan each VM against what is there, then (unless dryRun) create what is missing,
 * reconcile drift when asked, and report. Never prints: progress goes to onEvent.
 */
export async function rollout(opts: RolloutOptions): Promise<RolloutResult> {
  const startedAt = Date.now()
  const emit = opts.onEvent ?? (() => undefined)
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry }
  const resolved = typeof opts.fleet === 'string' ? await loadFleet(opts.fleet) : await resolveFleet(opts.fleet, opts.baseDir ?? process.cwd())
  const { fleet } = resolved
  const specs = vmSpecs(resolved)
  if (opts.wave !== undefined && (!Number.isInteger(opts.wave) || opts.wave < 1)) {
    throw new UserError({ what: `wave ${opts.wave} is not a positive whole number`, why: 'it is how many VMs each wave makes', fix: 'pass e.g. wave: 5 (--wave 5)', exitCode: EXIT.usage })
  }
  // Each group's user data, read and its templates tried once, before login: a bad one changes nothing.
  const userData = new Map<number, string | undefined>()
  for (const s of specs) {
    if (!userData.has(s.group)) userData.set(s.group, await checkedUserData(s.groupRecipe, s.addressPool !== undefined, `${resolved.file ?? 'fleet'}: groups.${s.group}`))
  }
  const env = opts.env ?? process.env
  // Reading the images and logging in overlap: both take a while, neither needs the other.
  const loggingIn = Promise.all(Object.entries(fleet.pools).map(([name, p]) => openPool(name, p, env, retry, opts.timeouts)))
  // The hash cache is the user's (process.env's XDG_CACHE_HOME or HOME), whatever `env` the credentials come from.
  const hashing: ImageHashOptions = {
    onProgress: (image, hashed, total) => emit({ type: 'image-hash', image, hashed, total }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  }
  const { images, kernelBits } = await mapImages(specs, opts.skipPreflight ?? false, hashing).catch(async (e: unknown) => {
    await Promise.all((await loggingIn).map((p) => ('x' in p ? p.x.close().catch(() => undefined) : undefined)))
    throw e
  })
  const pools: (OpenPool | FailedPool)[] = await loggingIn
  const open = pools.filter((p): p is OpenPool => 'x' in p)
  try {
    // Before any change in any pool: a group that one of its pools cannot run stops the rollout.
    const poolWarnings = assertPoolsRunnable(resolved, specs, open, (s) => kernelBits.get(preflightKey(s)) ?? null)
    const p = plan({
      fleet: fleet.name,
      specs,
      pools: new Map(pools.map((x) => [x.name, 'x' in x ? { inv: x.inv } : { error: x.error }])),
      images,
      reconcile: opts.reconcile ?? false,
      replace: opts.replace ?? false,
    })
    // Before any change (and on --dry-run, which shows them): addresses, then waves.
    assignAddresses(
      p.vms,
      open.map((o) => [o.name, o.inv]),
      fleet.name,
    )
    const waves = assignWaves(p.vms, { size: opts.wave, canary: opts.canary })
    emit({ type: 'plan', vms: p.vms.map((v) => ({ name: v.spec.name, pool: v.pool, host: v.host?.name ?? null, action: v.action })) })
    const common = { waves, fleet: fleet.name, dryRun: opts.dryRun ?? false, reconcile: opts.reconcile ?? false, plan: p, pools, poolWarnings, startedAt }
    if (opts.dryRun) return buildResult({ ...common, exec: undefined })
    // Before the first change (leftovers included): a plan that halts, reboots or replaces VMs needs consent.
    await requireConsent(p.vms.filter((v) => v.disruptive).map(disruption), opts, `provision rollout ${typeof opts.fleet === 'string' ? opts.fleet : '<fleet>'}`)
    const exec = await execute(p, {
      fleet: fleet.name,
      pools: new Map(open.map((o) => [o.name, o])),
      total: opts.concurrency ?? fleet.concurrency.total ?? DEFAULT_TOTAL,
      perHost: opts.perHost ?? fleet.concurrency.per_host ?? DEFAULT_PER_HOST,
      failFast: opts.failFast ?? false,
      retry,
      emit,
      signal: opts.signal,
      ...(opts.upload ? { upload: opts.upload } : {}),
      waves,
      userData,
    })
    return buildResult({ ...common, exec })
  } finally {
    await Promise.all(open.map((o) => o.x.close().catch(() => undefined)))
  }
}
