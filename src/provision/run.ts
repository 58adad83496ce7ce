import { stat } from 'node:fs/promises'
import { connect, type XapiConnection } from '../xapi/connection.js'
import { resolveTls, type TlsPolicy } from '../xapi/tls.js'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import { UserError, EXIT } from '../errors.js'
import { scanDataRegions, type DataMap } from '../upload/find/data-map.js'
import { inspectImage } from '../disk/inspect.js'
import { spoolGrowth } from '../disk/spool.js'
import { stopHashing } from '../upload/find/region-hashes.js'
import { bodyLength } from '../upload/send/chunked-body.js'
import { lookupTargets } from './lookup.js'
import { findLeftovers, removeLeftovers } from './leftovers.js'
import { claimName, type Claim } from './claim.js'
import { STEPS, type RunState, type StepContext } from './steps.js'
import { rollback } from './rollback.js'
import { findPartialVdis, keepPartialUpload, removePartials, replaceablePartials } from './partial-vdi.js'
import { explainFailure } from './explain.js'
import { handleExisting, type ExistingResult } from './existing.js'
import { destroyCalls, readVmsNamed } from './destroy.js'
import { preflightGate } from './preflight-gate.js'
import { assertRunnable, readHosts } from './host-check.js'
import type { DryRunResult, ProvisionOptions, ProvisionResult } from './types.js'
import { loadUserData } from '../cloud-init/resolve.js'
import { DEFAULT_WAIT_TIMEOUT_MS, type FirstBoot } from './first-boot.js'

/** Checks the image before anything touches XAPI: missing, unreadable or too big fails here. */
export async function checkImageFile(image: string, vdiSize: number, opts: { stream?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  let size: number
  try {
    const s = await stat(image)
    if (!s.isFile()) throw new Error('not a regular file')
  } catch (e) {
    throw new UserError({
      code: 'image-unreadable',
      what: `Cannot read the image ${image}`,
      why: (e as Error).message,
      fix: 'pass --image with a disk image (raw, qcow2, VHD or VMDK, optionally xz or gzip), or set image in the recipe',
    })
  }
  // Any format (src/disk): the VDI must hold the virtual disk, not the (compressed, sparse) file.
  size = (await inspectImage(image, undefined, opts)).size
  if (size > vdiSize) {
    spoolGrowth(image)?.abort() // a raw.xz this run started decompressing: not needed any more
    throw new UserError({
      code: 'recipe-invalid',
      what: 'The image does not fit in the VDI',
      why: `the image is ${size} bytes and vdi.virtual_size is ${vdiSize}`,
      fix: `raise vdi.virtual_size in the recipe to at least ${size} bytes`,
    })
  }
}

/** checkImageFile, then where the image's data is (data-map.ts). */
export async function mapImage(image: string, vdiSize: number): Promise<DataMap> {
  await checkImageFile(image, vdiSize)
  return scanDataRegions(image)
}

async function login(opts: ProvisionOptions): Promise<XapiConnection> {
  try {
    const policy: TlsPolicy = opts.allowUnauthorized ? { kind: 'insecure' } : opts.fingerprint ? { kind: 'pinned', fingerprint: opts.fingerprint } : { kind: 'verify' }
    return await connect({
      url: opts.url,
      user: opts.user,
      password: opts.password,
      tls: await resolveTls(opts.url, policy, opts.timeouts?.connectMs),
      ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    })
  } catch (e) {
    if (e instanceof UserError) throw e
    const info = explainFailure(`Login to ${new URL(opts.url).host}`, e)
    throw new UserError({ ...info, what: `Login to ${new URL(opts.url).host} failed` }, { cause: e })
  }
}

export async function provision(opts: ProvisionOptions & { dryRun: true }): Promise<DryRunResult | ExistingResult>
export async function provision(opts: ProvisionOptions): Promise<ProvisionResult | DryRunResult | ExistingResult>
export async function provision(opts: ProvisionOptions): Promise<ProvisionResult | DryRunResult | ExistingResult> {
  const started = Date.now()
  const emit = opts.onEvent ?? (() => undefined)
  // Without a preflight to read it first, a raw.xz is uploaded while it is decompressed
  // (spool.ts, `stream`): the map below then follows the spool, and the upload with it.
  await checkImageFile(opts.image, opts.recipe.vdi.virtual_size, { stream: (opts.skipPreflight ?? false) && !opts.dryRun, ...(opts.signal ? { signal: opts.signal } : {}) })
  let recipe: ProvisionOptions['recipe']
  let preflight: ReturnType<typeof preflightGate>['preflight']
  let firstBoot: FirstBoot
  try {
    // Before login: an image pygrub cannot boot stops here, with nothing to roll back.
    ;({ recipe, preflight } = preflightGate({ ...opts, emit }))
    // The user data file is read and checked here, before login: bad user data creates nothing.
    firstBoot = {
      userData: await loadUserData(recipe),
      probes: opts.wait?.probes ?? [],
      timeoutMs: opts.wait?.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
      agentGraceMs: opts.wait?.agentGraceMs,
      index: 0,
      bootConsole: opts.bootConsole,
    }
  } catch (e) {
    spoolGrowth(opts.image)?.abort() // a raw.xz being decompressed for this run
    throw e
  }
  const vmName = opts.name ?? recipe.name
  // Finding the data reads all of it (~0.5 s per GiB); the login and the lookups need
  // none of it, so they run meanwhile and the upload starts that much sooner.
  const mapAbort = new AbortController()
  // A real run's map of a large image is followed while it is read: the upload's first segment need not wait for the rest (live-map.ts).
  const mapping = scanDataRegions(opts.image, { signal: mapAbort.signal, live: !opts.dryRun })
  mapping.catch(() => undefined) // awaited below, unless the run fails first
  // A run that fails before it needs the map stops the reading, so the process can exit.
  const abandonMap = async (): Promise<void> => {
    mapAbort.abort()
    await mapping.catch(() => undefined)
  }
  let x: XapiConnection
  try {
    x = await login(opts)
  } catch (e) {
    await abandonMap()
    throw e
  }
  let claim: Claim | undefined
  try {
    const waits = opts.waits ?? {}
    const onWait = (message: string): void => emit({ type: 'warning', message })
    // A release that cannot run the recipe stops here, before the claim or any other change.
    // The pool's records are read once here; the check of the SR's hosts below reuses them.
    const hostReport = await readHosts(x)
    assertRunnable(recipe, await hostReport(), preflight.kernel_elf_class ?? null)
    // One run per VM name at a time, before anything changes: a second run would adopt this one's VDI.
    if (!opts.dryRun) claim = await claimName(x, vmName, { waitMs: waits.claimMs, staleMs: waits.claimStaleMs, pollMs: waits.pollMs, onWait, signal: opts.signal })
    // Every VDI, read once for the leftovers, the existing VM's disks and the unfinished uploads.
    let vdis = await VDI.get_all_records(x)
    // Leftovers of a run of this VM name that was killed: removed first (or, on --dry-run, listed).
    const leftovers = await findLeftovers(x, vmName, vdis)
    const leftoverVms = new Set(leftovers.vms.map((v) => v.ref))
    if (!opts.dryRun && (leftovers.vms.length || leftovers.vdis.length || leftovers.tasks.length)) {
      const removed = await removeLeftovers(x, leftovers, { timeoutMs: waits.operationMs, pollMs: waits.pollMs, onWait })
      emit({ type: 'warning', message: `removed what an interrupted earlier run left: ${removed.join('; ')}` })
      leftoverVms.clear()
      // Read again: the removal changed them (destroyed VDIs; a disk of a destroyed VM is
      // attached to nothing now, and may be an unfinished upload to resume).
      vdis = await VDI.get_all_records(x)
    }
    // The VMs of this name, read once: for the existing-VM check here and the name check of the lookups.
    let named = await readVmsNamed(x, vmName)
    // The name is taken by a VM the tool made: the same settings → nothing to do; else change it, or replace it with --replace.
    const existing = await handleExisting(x, {
      recipe,
      vmName,
      dryRun: opts.dryRun ?? false,
      reconcile: opts.reconcile ?? false,
      replace: opts.replace ?? false,
      yes: opts.yes,
      confirm: opts.confirm,
      onStep: (step, title) => emit({ type: 'step', step, title }),
      named,
      vdis,
    })
    if (existing && 'existing' in existing) return existing
    const replacing = existing?.replacing
    if (existing?.removed.length) {
      emit({ type: 'warning', message: `--replace: removed ${existing.removed.join('; ')}` })
      // The VM destroyed no longer holds the name; its disks are gone, and the VDIs are read
      // again for the unfinished uploads rather than patched by what the destroy meant to do.
      named = named.filter((v) => v.ref !== existing.replacing.vm.ref)
      vdis = await VDI.get_all_records(x)
    }
    if (replacing && opts.dryRun) leftoverVms.add(replacing.vm.ref)
    const targets = await lookupTargets(x, recipe, vmName, recipe.vdi.virtual_size, { named, ignoreVms: leftoverVms })
    // Then every host that sees the SR, where VM.start may place the VM (capabilities.ts).
    const host = await hostReport(targets.sr.ref)
    for (const message of assertRunnable(recipe, host, preflight.kernel_elf_class ?? null)) emit({ type: 'warning', message })
    const map = await mapping
    // Unfinished uploads of this name: the one to resume goes to vdi.create; those this image
    // cannot resume (it changed since) are replaced, never leaked.
    const { replaced, left: partials } = replaceablePartials(await findPartialVdis(x, { vmName, sr: targets.sr.ref, virtualSize: recipe.vdi.virtual_size, map, vdis }))
    if (!opts.dryRun && replaced.length) emit({ type: 'warning', message: `removed ${(await removePartials(x, replaced, vmName)).join('; ')}` })
    // Everything calls() reads: --verify and the segment size change the plan as they change the run.
    const base = { recipe, vmName, image: opts.image, map, targets, firstBoot, partials, verify: opts.verify ?? false, ...(opts.upload ? { upload: opts.upload } : {}) }
    if (opts.dryRun) {
      const cleanup = [
        ...leftovers.vms.map((v) => `VM.destroy ${v.uuid} (left by an interrupted run)`),
        ...leftovers.vdis.map((d) => `VDI.destroy ${d.uuid} (left by an interrupted run)`),
        ...leftovers.tasks.map((t) => `task.destroy ${t.ref} "${t.name_label}" (left by an interrupted run)`),
        ...replaced.map((v) => `VDI.destroy ${v.uuid} (an unfinished upload this run cannot resume: ${v.why})`),
        ...(replacing ? destroyCalls(replacing).map((c) => `${c} (--replace)`) : []),
      ]
      return {
        dry_run: true,
        vm_name: vmName,
        sr: { uuid: targets.sr.record.uuid, name_label: targets.sr.record.name_label },
        template: recipe.template,
        network: targets.network.record.bridge,
        mac: targets.mac,
        upload: { image_size: map.size, data_bytes: map.dataBytes, bytes_to_send: bodyLength(map), regions: map.regions.length },
        calls: [...cleanup.map((call) => ({ step: 'leftovers', call })), ...STEPS.flatMap((s) => s.calls(base).map((call) => ({ step: s.id, call })))],
        preflight,
        host,
      }
    }
    const state: RunState = { created: [] }
    const ctx: StepContext = {
      ...base,
      x,
      state,
      allowUnauthorized: opts.allowUnauthorized ?? false,
      onUpload: (p) => emit({ type: 'upload', ...p }),
      onVerify: (p) => emit({ type: 'verify', ...p }),
      onEvent: emit,
      signal: opts.signal,
    }
    const timings: { step: string; ms: number }[] = []
    x.setAbortSignal(opts.signal)
    for (const step of STEPS) {
      if (step.skip?.(ctx)) continue
      emit({ type: 'step', step: step.id, title: step.title })
      const t0 = Date.now()
      try {
        if (opts.signal?.aborted) throw new Interrupted()
        await step.run(ctx)
        if (opts.signal?.aborted) throw new Interrupted()
      } catch (e) {
        x.setAbortSignal(undefined)
        const cause = opts.signal?.aborted ? new Interrupted() : e
        throw await failRun(x, state, step.title, cause, { keep: opts.keepOnFailure ?? false, emit, image: opts.image, map })
      }
      const ms = Date.now() - t0
      timings.push({ step: step.id, ms })
      emit({ type: 'step-done', step: step.id, ms })
    }
    const vm = await VM.get_record(x, state.vm!)
    const vdi = await VDI.get_record(x, state.vdi!)
    return {
      vm: { uuid: vm.uuid, ref: state.vm!, name: vm.name_label, power_state: vm.power_state },
      vdi: { uuid: vdi.uuid, ref: state.vdi!, virtual_size: vdi.virtual_size },
      mac: targets.mac,
      sr: { uuid: targets.sr.record.uuid, name_label: targets.sr.record.name_label },
      upload: {
        image_size: state.upload!.imageSize,
        data_bytes: state.upload!.dataBytes,
        bytes_sent: state.upload!.bytesSent,
        regions: state.upload!.regions,
        bytes_read: state.upload!.bytesRead,
        method: state.upload!.method,
        segments: state.upload!.segments.length,
        resumed_from: state.upload!.resumedFrom,
        retries: state.upload!.retries,
        ...(state.upload!.target ? { redirected_to: state.upload!.target.name } : {}),
        ...(state.verified ? { verified: true, verify: { segments_verified: state.verified.segments, segments: state.verified.segments, bytes_read: state.verified.bytesRead } } : {}),
      },
      steps: timings,
      duration_ms: Date.now() - started,
      ...(state.ready ? { ips: state.ready.ips, ready_after_ms: state.ready.ready_after_ms, ready_probes: state.ready.probes } : {}),
      preflight,
      host,
      ...(existing?.removed.length ? { replaced: existing.removed } : {}),
    }
  } finally {
    // A no-op once the map was awaited; after an early failure it stops the reading.
    await abandonMap()
    // Hashes kept for --verify (upload.ts keepHashes) that verify never took: their niced workers would keep the process alive.
    await mapping.then(stopHashing, () => undefined)
    // A decompression still running when the run ends (a qcow2's bad table found while xz
    // wrote it: the map failed and no longer listens to its signal) is stopped here, or the
    // process printed its error and then waited for xz to decompress the rest to exit.
    spoolGrowth(opts.image)?.abort()
    await claim?.release()
    await x.close().catch(() => undefined)
  }
}

/** The run was stopped by a signal; rollback still runs, then exit code 130. */
class Interrupted extends Error {
  override name = 'Interrupted'
}

async function failRun(
  x: XapiConnection,
  state: RunState,
  title: string,
  e: unknown,
  o: { keep: boolean; emit: NonNullable<ProvisionOptions['onEvent']>; image: string; map: DataMap },
): Promise<UserError> {
  const { keep, emit } = o
  const info =
    e instanceof Interrupted
      ? { what: 'Interrupted', why: `stopped by a signal during "${title}"`, fix: 'run the same command again when ready', exitCode: EXIT.interrupted }
      : // A damaged image is the user's to replace (exit 2), also when a raw.xz is found damaged during the upload that follows its decompression.
        { ...explainFailure(title, e), exitCode: e instanceof UserError && e.code === 'image-unreadable' ? EXIT.usage : EXIT.failure }
  if (keep) {
    const kept = state.created.map((o) => `${o.cls} ${o.label} (${o.ref})`)
    emit({ type: 'rollback', removed: [], kept })
    return new UserError({ ...info, kept }, { cause: e })
  }
  // What was sent of an image that changed meanwhile cannot be resumed: its checkpoint may
  // describe bytes the VDI never received. The VDI goes with the rest.
  const changed = await imageChanged(o.image, o.map)
  const partial = changed ? undefined : keepPartialUpload(state)
  const report = await rollback(x, state)
  const kept = partial ? [partial, ...report.failed] : report.failed
  emit({ type: 'rollback', removed: report.removed, kept })
  const fix = partial
    ? `${info.fix}; the upload resumes where it stopped`
    : changed && state.checkpoint
      ? `${info.fix}; the image changed during the upload, so nothing of it was kept to resume from`
      : info.fix
  return new UserError({ ...info, fix, removed: report.removed, kept }, { cause: e })
}

/** The map was taken from the image at the start; a different size or mtime now means it was written to since. */
async function imageChanged(image: string, map: DataMap): Promise<boolean> {
  const now = await stat(image).catch(() => undefined)
  return !now || now.size !== map.size || now.mtimeMs !== map.mtimeMs
}
