import { rollback } from '../provision/rollback.js'
import { removeLeftovers } from '../provision/leftovers.js'
import { removeVmLeftovers } from './leftovers.js'
import { explainFailure } from '../provision/explain.js'
import type { RunState } from '../provision/steps.js'
import { Limits, Once } from './limiter.js'
import { scoped, type RetryPolicy, type ScopedConnection } from './scoped.js'
import { ensureBase, KeptPartialBase, type BaseOutcome } from './base-vdi.js'
import type { UploadTuning } from '../upload/upload.js'
import { ensureTemplate } from './golden.js'
import { createVm } from './create-vm.js'
import { reconcileVm } from './reconcile.js'
import { destroyVm } from '../provision/destroy.js'
import type { Plan, VmPlan } from './planner.js'
import type { OpenPool } from './pools.js'
import type { ErrorInfo, RolloutEvent, VmState } from './types.js'
import type { Ready } from '../wait/watch.js'
import { firstBootOf } from './first-boot.js'

/** A VM of a wave after the one that failed (or after an interrupt): never started. */
function skippedByWave(v: VmPlan, stop: { wave: number; error: ErrorInfo } | undefined, o: ExecOptions): VmOutcome {
  const error: ErrorInfo | null = stop
    ? { what: `${v.spec.name} was not made: wave ${stop.wave} failed before its wave ${v.wave ?? '?'}`, why: stop.error.why, fix: stop.error.fix, removed: [], kept: [] }
    : null
  o.emit({ type: 'vm-done', vm: v.spec.name, state: 'skipped', ms: 0, error })
  return { state: 'skipped', ms: 0, calls: 0, error, uuid: null, leftovers: [] }
}

export interface ExecOptions {
  fleet: string
  pools: Map<string, OpenPool>
  total: number
  perHost: number
  failFast: boolean
  retry: RetryPolicy
  emit: (e: RolloutEvent) => void
  signal: AbortSignal | undefined
  upload?: UploadTuning
  /** The VMs the run makes or changes, as indexes into plan.vms, wave by wave (waves.ts). */
  waves: number[][]
  /** Each group's user data, read and checked before any change, by group index. */
  userData: Map<number, string | undefined>
}

export interface VmOutcome {
  state: VmState
  ms: number
  calls: number
  error: ErrorInfo | null
  uuid: string | null
  /** What an interrupted earlier rollout had left of this VM, removed before creating it. */
  leftovers: string[]
  /** What the group's wait saw once the guest was ready. */
  ready?: Ready | undefined
}

export interface WaveOutcome {
  state: 'ready' | 'failed' | 'skipped'
  error: ErrorInfo | null
}

export interface SharedOutcome<T> {
  value?: T
  error?: ErrorInfo
}

export interface Execution {
  vms: VmOutcome[]
  bases: Map<string, SharedOutcome<BaseOutcome>>
  templates: Map<string, SharedOutcome<{ ref: string; uuid: string }>>
  /** Calls for bases and templates (and their rollbacks), and for the pools' leftovers. */
  setupCalls: number
  /** Per pool, what interrupted rollouts left that belongs to no one VM, as removed (or why not). */
  poolLeftovers: { pool: string; removed: string[]; error: ErrorInfo | null }[]
  waves: WaveOutcome[]
}

const plain = (i: { code?: string | undefined; what: string; why: string; fix: string }, removed: string[] = [], kept: string[] = []): ErrorInfo => ({
  ...(i.code ? { code: i.code } : {}),
  what: i.what,
  why: i.why,
  fix: i.fix,
  removed,
  kept,
})

/**
 * Runs the plan: bases and golden templates once each (the first VM that needs one
 * builds it, the others wait for it without holding a slot), then each VM inside its
 * host's and the global limit. A VM that fails is rolled back and reported; the others
 * go on unless failFast.
 */
export async function execute(plan: Plan, o: ExecOptions): Promise<Execution> {
  const limits = new Limits()
  const bases = new Once<BaseOutcome>()
  const templates = new Once<{ ref: string; uuid: string }>()
  const shared = { bases: new Map<string, SharedOutcome<BaseOutcome>>(), templates: new Map<string, SharedOutcome<{ ref: string; uuid: string }>>() }
  let setupCalls = 0
  let failed = false
  // First, and before any base or template is looked at: a half-built template or a stray
  // disk clone is removed whether or not this run creates anything.
  const poolLeftovers = await Promise.all(
    plan.poolLeftovers.map(async (l) => {
      const x = scoped(o.pools.get(l.pool)!.x, o.retry)
      try {
        return { pool: l.pool, removed: await removeLeftovers(x, l.found), error: null }
      } catch (e) {
        return { pool: l.pool, removed: [], error: plain(explainFailure('Removing what an interrupted rollout left', e)) }
      } finally {
        setupCalls += x.calls
      }
    }),
  )
  const stopped = (): boolean => (o.failFast && failed) || Boolean(o.signal?.aborted)
  const slots = (v: VmPlan): [string, number][] => [
    [`host:${v.pool}/${v.host?.ref ?? '?'}`, o.perHost],
    ['total', o.total],
  ]
  const view = (v: VmPlan | undefined, pool: OpenPool): ScopedConnection => scoped(pool.x, o.retry, (n) => o.emit({ type: 'retry', vm: v?.spec.name ?? null, ...n }))

  /** A base or template job: its own slots, its calls counted as setup, its outcome shared. */
  async function setup<T>(v: VmPlan, fn: (x: ScopedConnection) => Promise<T>, record: (r: SharedOutcome<T>) => void): Promise<T> {
    return limits.runAll(slots(v), async () => {
      // No abort signal on this view: its own rollback must run to the end. The upload gets the signal itself.
      const x = view(undefined, o.pools.get(v.pool)!)
      try {
        const value = await fn(x)
        record({ value })
        return value
      } catch (e) {
        // A base kept for the next rollout to resume is said so, with the failure that stopped it.
        const kept = e instanceof KeptPartialBase ? [e.kept] : []
        const info = explainFailure('Preparing', e instanceof KeptPartialBase ? e.cause : e)
        record({ error: plain(kept.length ? { ...info, fix: `${info.fix}; the next rollout resumes the upload` } : info, [], kept) })
        throw e
      } finally {
        setupCalls += x.calls
      }
    })
  }

  /** Removes what interrupted runs left of this VM, in whichever pool of the fleet; returns the calls made. */
  async function clearLeftovers(v: VmPlan, onStep: (step: string, title: string) => void, cleaned: string[] = []): Promise<number> {
    let calls = 0
    for (const l of v.leftovers) {
      onStep('leftovers', 'Remove what an interrupted run left')
      // A leftover may sit in another pool of the fleet, so it gets that pool's session.
      const lx = view(v, o.pools.get(l.pool)!)
      try {
        cleaned.push(...(await removeVmLeftovers(lx, l.found)))
      } finally {
        calls += lx.calls
      }
    }
    return calls
  }

  async function job(v: VmPlan): Promise<VmOutcome> {
    const cleaned: string[] = []
    const done = (state: VmState, t0: number, calls = 0, error: ErrorInfo | null = null, uuid: string | null = null, ready?: Ready): VmOutcome => {
      const ms = t0 ? Date.now() - t0 : 0
      if (state === 'failed') failed = true
      o.emit({ type: 'vm-done', vm: v.spec.name, state, ms, error })
      return { state, ms, calls, error, uuid, leftovers: cleaned, ...(ready ? { ready } : {}) }
    }
    if (v.action === 'fail') return done('failed', 0, 0, v.error ?? null)
    if (v.action === 'none' || v.action === 'drift') {
      // A VM that exists may still have a leftover: a clone that a killed run's held call made after a re-run had read the pool.
      const t0 = v.leftovers.length ? Date.now() : 0
      try {
        const calls = await clearLeftovers(v, () => undefined, cleaned)
        return done(v.action === 'none' ? 'unchanged' : 'drift', t0, calls, null, v.existing?.record.uuid ?? null)
      } catch (e) {
        return done('failed', t0, 0, plain(explainFailure('Remove what an interrupted run left', e)))
      }
    }
    if (stopped()) return done('skipped', 0)
    const pool = o.pools.get(v.pool)!
    let base = { ref: '', other_config: {} as Record<string, string> }
    let template = ''
    const makes = v.action === 'create' || v.action === 'replace'
    if (makes) {
      const b = v.base!
      const t = v.template!
      try {
        const onUpload = (p: { sent: number; total: number }): void => o.emit({ type: 'base', pool: v.pool, sr: b.sr.record.name_label, phase: 'upload', ...p })
        const onTemplate = (): void => o.emit({ type: 'template', pool: v.pool, name: t.name, phase: 'build' })
        const sr = b.sr.record.name_label
        ;[base, template] = await Promise.all([
          bases.run(b.key, () =>
            setup(
              v,
              (x) => ensureBase(x, v, onUpload, o.signal, o.upload),
              (r) => {
                shared.bases.set(b.key, r)
                o.emit({ type: 'base', pool: v.pool, sr, phase: r.error ? 'failed' : 'ready', sent: r.value?.bytesSent ?? 0, total: r.value?.bytesSent ?? 0 })
              },
            ),
          ),
          templates
            .run(t.key, () =>
              setup(
                v,
                (x) => ensureTemplate(x, o.fleet, v, onTemplate),
                (r) => {
                  shared.templates.set(t.key, r)
                  o.emit({ type: 'template', pool: v.pool, name: t.name, phase: r.error ? 'failed' : 'ready' })
                },
              ),
            )
            .then((r) => r.ref),
        ])
      } catch (e) {
        const why = explainFailure('', e)
        return done('failed', 0, 0, plain({ what: `${v.spec.name} was not created: its base disk or golden template could not be made`, why: why.why, fix: why.fix }))
      }
    }
    return limits.runAll(slots(v), async (releaseSlots) => {
      if (stopped()) return done('skipped', 0)
      const t0 = Date.now()
      const x = view(v, pool)
      x.setAbortSignal(o.signal)
      const state: RunState = { created: [] }
      let title = 'Preparing'
      const onStep = (step: string, t: string): void => {
        title = t
        o.emit({ type: 'vm-step', vm: v.spec.name, step, title: t })
      }
      try {
        const extra = await clearLeftovers(v, onStep, cleaned)
        // Replaced: the old VM and the disks the tool made for it go first (consented: the plan marked it disruptive).
        if (v.replacing) await destroyVm(x, v.replacing, onStep)
        if (makes) {
          const firstBoot = firstBootOf(o.userData.get(v.spec.group), v.spec.wait, v.spec.index, v.address)
          const made = await createVm(
            { x, fleet: o.fleet, plan: v, base: base.ref, baseConfig: base.other_config, template, limits, multiHost: Object.keys(pool.inv.hosts).length > 1, onStep, firstBoot, releaseSlots },
            state,
          )
          return done(v.replacing ? 'replaced' : 'created', t0, x.calls + extra, null, made.uuid, made.ready)
        }
        await reconcileVm(x, v, pool.inv, onStep)
        return done(v.action === 'update' ? 'updated' : 'reconciled', t0, x.calls + extra, null, v.existing!.record.uuid)
      } catch (e) {
        const info = explainFailure(title, e)
        // Rollback gets a view without the abort signal: an interrupt must not cut it short.
        const rx = view(v, pool)
        const report = state.created.length ? await rollback(rx, state) : { removed: [], failed: [] }
        return done('failed', t0, x.calls + rx.calls, plain(info, report.removed, report.failed))
      }
    })
  }

  const vms: VmOutcome[] = new Array<VmOutcome>(plan.vms.length)
  const inWave = new Set(o.waves.flat())
  // VMs no wave carries (nothing to do, drift, a planning failure) are reported at once.
  const others = Promise.all(plan.vms.map(async (v, i) => (inWave.has(i) ? undefined : (vms[i] = await job(v)))))
  const waves: WaveOutcome[] = []
  let stop: { wave: number; error: ErrorInfo } | undefined
  for (const [k, wave] of o.waves.entries()) {
    const names = wave.map((i) => plan.vms[i]!.spec.name)
    if (stop || o.signal?.aborted) {
      for (const i of wave) vms[i] = skippedByWave(plan.vms[i]!, stop, o)
      waves.push({ state: 'skipped', error: null })
      continue
    }
    o.emit({ type: 'wave', wave: k + 1, phase: 'start', vms: names })
    await Promise.all(wave.map(async (i) => (vms[i] = await job(plan.vms[i]!))))
    const bad = wave.filter((i) => vms[i]!.state === 'failed' || vms[i]!.state === 'skipped')
    if (bad.length) {
      const first = vms[bad[0]!]!
      const error: ErrorInfo = {
        what: `Wave ${k + 1} failed: ${bad.map((i) => plan.vms[i]!.spec.name).join(', ')} did not become ready`,
        why: `${plan.vms[bad[0]!]!.spec.name}: ${first.error ? `${first.error.what}: ${first.error.why}` : first.state}`,
        fix: `${first.error?.fix ?? 'see the VM'}; then run the rollout again: the VMs made so far are kept and it goes on from the first VM not made`,
        removed: [],
        kept: [],
      }
      stop = { wave: k + 1, error }
      waves.push({ state: 'failed', error })
      o.emit({ type: 'wave', wave: k + 1, phase: 'failed', vms: names })
    } else {
      waves.push({ state: 'ready', error: null })
      o.emit({ type: 'wave', wave: k + 1, phase: 'ready', vms: names })
    }
  }
  await others
  return { vms, bases: shared.bases, templates: shared.templates, setupCalls, poolLeftovers, waves }
}
