import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { loadRecipe } from '../recipe/load.js'
import { provision } from '../provision/run.js'
import type { DryRunResult, ProvisionOptions, ProvisionResult } from '../provision/types.js'
import type { ExistingResult } from '../provision/existing.js'
import { terminalConfirm } from './confirm.js'
import { UserError, EXIT } from '../errors.js'
import { parseHost } from './host.js'
import { VmNameSchema } from '../recipe/schema.js'
import { resolveCredentials, withCredentialSource, type ResolvedCredentials } from './credentials.js'
import { progressRenderer } from './progress.js'
import { runDir } from '../run-dir.js'
import type { Timeouts } from '../xapi/timeouts.js'

export interface ProvisionArgs {
  recipe: string
  host: string | undefined
  name?: string | undefined
  image?: string | undefined
  json: boolean
  /** --quiet: no progress, only warnings (the result and errors are printed by the caller). */
  quiet?: boolean
  dryRun: boolean
  /** The VM exists (made by the tool): also revert drift; destroy and make it anew; consent given up front. */
  reconcile?: boolean
  replace?: boolean
  yes?: boolean
  keepOnFailure: boolean
  insecure: boolean
  skipPreflight?: boolean
  fixOffset?: boolean
  verify?: boolean
  passwordFile?: string | undefined
  fingerprint?: string | undefined
  /** --host sim: the simulated release (mocks/profiles.ts); default the newest that runs the recipe. */
  simProfile?: string | undefined
  /** Connect, response and idle limits for every call and transfer (src/xapi/timeouts.ts). */
  timeouts?: Partial<Timeouts> | undefined
  /** --wait probes and --wait-timeout (src/wait/options.ts). */
  wait?: ProvisionOptions['wait'] | undefined
}

/** Runs one provision; the embedded simulator and the sample image live only for this call. */
export async function runProvision(args: ProvisionArgs): Promise<ProvisionResult | DryRunResult | ExistingResult> {
  if (!args.host) {
    throw new UserError({
      what: 'No --host given',
      why: 'provision needs to know which XAPI to talk to, and XAPI_HOST is not set',
      fix: 'add --host <name> (or --host sim for the embedded simulator), or set XAPI_HOST',
      exitCode: EXIT.usage,
    })
  }
  const target = parseHost(args.host)
  if (args.name !== undefined) checkName(args.name)
  const { recipe } = await loadRecipe(args.recipe)
  const onEvent = progressRenderer(process.stderr, args.json || args.quiet === true)
  const cleanups: (() => Promise<void>)[] = []
  try {
    let url: string
    let creds: ResolvedCredentials
    if (target.kind === 'sim') {
      // Loaded only here: the simulator is start-up time a run against a real host should not pay.
      const { DEFAULT_CREDENTIALS } = await import('../../mocks/simulator.js')
      creds = await resolveCredentials({ passwordFile: args.passwordFile, fallback: { ...DEFAULT_CREDENTIALS, from: "the simulator's default" } })
      url = '' // started below, once the image tells which release can run it
    } else {
      url = target.url
      creds = await resolveCredentials({ passwordFile: args.passwordFile })
    }
    let image = args.image ?? recipe.image
    let bootConsole: ProvisionOptions['bootConsole']
    if (target.kind === 'sim' && !args.image) {
      const { dir } = await runDir('sample')
      cleanups.push(() => rm(dir, { recursive: true, force: true }))
      image = join(dir, 'freebsd-sample.img')
      const write = await import('../image/write-image.js')
      // An HVM recipe gets an image its firmware boots (GPT, ESP, UFS2 root); pv and pvh the pygrub one.
      if (recipe.boot.mode === 'hvm') await write.writeSampleHvmImage(image, { firmware: recipe.boot.firmware })
      else await write.writeSampleImage(image)
    }
    if (target.kind === 'sim') {
      const kernelBits = recipe.boot.mode === 'hvm' || !image ? null : (await import('../provision/preflight-gate.js')).kernelElfClass(image, recipe)
      const choice = await (await import('./sim-profile.js')).chooseSimProfile(recipe, kernelBits, args.simProfile)
      if (!args.json && !args.quiet) process.stderr.write(`${choice.note}\n`)
      const { startSimulator } = await import('../../mocks/simulator.js')
      const sim = await startSimulator({ credentials: { user: creds.user, password: creds.password }, profile: choice.name })
      cleanups.push(() => sim.close())
      url = sim.url
      // The embedded simulator can say what its firmware did: the wait's diagnosis uses it.
      bootConsole = (vm) => sim.console(vm).at(-1)
    }
    if (!image) {
      throw new UserError({
        what: 'No image to upload',
        why: 'the recipe has no image and --image was not given',
        fix: 'pass --image <disk image> (raw, qcow2, VHD or VMDK, also .xz or .gz)',
        exitCode: EXIT.usage,
      })
    }
    const fingerprint = args.fingerprint ?? process.env.XAPI_FINGERPRINT
    if (fingerprint && args.insecure) {
      throw new UserError({
        what: '--insecure and a fingerprint were both given',
        why: 'a pinned certificate is verified; --insecure verifies nothing',
        fix: 'keep one of them (the fingerprint is the safe one)',
        exitCode: EXIT.usage,
      })
    }
    const interrupt = new AbortController()
    const onSignal = (sig: NodeJS.Signals): void => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted)
      process.stderr.write(`\n${sig}: stopping; removing what this run created (press Ctrl-C again to quit at once)\n`)
      interrupt.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    cleanups.push(async () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    })
    if (args.insecure) process.stderr.write('warning: --insecure: the host certificate is not verified; anyone on the path can read your password\n')
    return await provision({
      recipe,
      image,
      url,
      user: creds.user,
      password: creds.password,
      allowUnauthorized: args.insecure,
      ...(fingerprint ? { fingerprint } : {}),
      dryRun: args.dryRun,
      // An existing VM the tool made: changes that halt or replace it need --yes or a y on the terminal.
      reconcile: args.reconcile ?? false,
      replace: args.replace ?? false,
      yes: args.yes ?? false,
      ...confirmOption(),
      keepOnFailure: args.keepOnFailure,
      skipPreflight: args.skipPreflight ?? false,
      fixOffset: args.fixOffset ?? false,
      verify: args.verify ?? false,
      ...(args.name ? { name: args.name } : {}),
      ...(args.timeouts ? { timeouts: args.timeouts } : {}),
      ...(args.wait ? { wait: args.wait } : {}),
      ...(bootConsole ? { bootConsole } : {}),
      onEvent,
      signal: interrupt.signal,
    }).catch((e: unknown) => {
      throw withCredentialSource(e, creds.source)
    })
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
  }
}

/** --name follows the recipe's rule for names (VmNameSchema), checked before anything else happens. */
function checkName(name: string): void {
  const r = VmNameSchema.safeParse(name)
  if (r.success) return
  throw new UserError({
    what: `--name "${name.length > 60 ? `${name.slice(0, 60)}…` : name}" is not a usable VM name`,
    why: `a VM name ${r.error.issues[0]?.message ?? 'is invalid'} (it has ${name.length} characters)`,
    fix: 'pass a name of 1 to 255 printable characters',
    exitCode: EXIT.usage,
  })
}

/** The terminal's y/N question, when there is a terminal to ask on. */
function confirmOption(): { confirm?: NonNullable<ProvisionOptions['confirm']> } {
  const confirm = terminalConfirm()
  return confirm ? { confirm } : {}
}
