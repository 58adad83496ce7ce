import type { Plan, VmPlan } from './planner.js'
import type { Execution } from './execute.js'
import type { OpenPool, FailedPool } from './pools.js'
import { describe } from './pool-leftovers.js'
import type { BaseResult, RolloutResult, TemplateResult, VmResult } from './types.js'

export interface ResultInput {
  fleet: string
  dryRun: boolean
  reconcile: boolean
  plan: Plan
  pools: (OpenPool | FailedPool)[]
  /** What runs with a caveat in each pool (PVH, Secure Boot auto without certificates), by runnable.ts. */
  poolWarnings: { pool: string; warnings: string[] }[]
  exec: Execution | undefined
  startedAt: number
  /** Indexes into plan.vms, wave by wave. */
  waves: number[][]
}

function vmResult(v: VmPlan, i: number, r: ResultInput): VmResult {
  const out = r.exec?.vms[i]
  return {
    name: v.spec.name,
    pool: v.pool,
    host: v.host?.name ?? null,
    sr: v.sr?.record.name_label ?? null,
    action: v.action,
    disruptive: v.disruptive,
    state: out?.state ?? (v.action === 'fail' ? 'failed' : 'planned'),
    uuid: out?.uuid ?? v.existing?.record.uuid ?? null,
    mac: v.mac ?? null,
    drift: v.drift,
    duration_ms: out?.ms ?? 0,
    calls: out?.calls ?? 0,
    error: out?.error ?? (v.error ? { ...v.error, removed: [], kept: [] } : null),
    leftovers: out?.leftovers ?? v.leftovers.flatMap((l) => describe(l.found, l.pool)),
    left_in_place: v.leftInPlace,
    address: v.address ?? null,
    wave: v.wave ?? null,
    ready: out?.ready ?? null,
  }
}

/** The typed result: one entry per VM, base and template, with what was done and why not. */
export function buildResult(r: ResultInput): RolloutResult {
  const vms = r.plan.vms.map((v, i) => vmResult(v, i, r))
  const bases: BaseResult[] = r.plan.bases.map((b) => {
    const o = r.exec?.bases.get(b.key)
    return {
      pool: b.pool,
      sr: b.sr.record.name_label,
      sr_uuid: b.sr.record.uuid,
      image: b.image,
      image_sha256: b.info.sha256,
      vdi_uuid: o?.value?.uuid ?? b.existing?.uuid ?? b.partial?.uuid ?? null,
      action: b.existing ? 'reuse' : b.partial ? 'resume' : 'upload',
      state: !r.exec ? 'planned' : o?.error ? 'failed' : o?.value || b.existing ? 'ready' : 'failed',
      bytes_sent: o?.value?.bytesSent ?? 0,
      error: o?.error ?? null,
    }
  })
  const templates: TemplateResult[] = r.plan.templates.map((t) => {
    const o = r.exec?.templates.get(t.key)
    const made = o?.value ?? t.existing
    return {
      pool: t.pool,
      name: t.name,
      settings_sha256: t.sha256,
      uuid: made?.uuid ?? null,
      action: t.existing ? 'reuse' : 'build',
      state: !r.exec ? 'planned' : o?.error ? 'failed' : made ? 'ready' : 'failed',
      error: o?.error ?? null,
    }
  })
  const setupPool = r.pools.reduce((n, p) => n + ('calls' in p ? p.calls : 0), 0)
  const vmCalls = vms.reduce((n, v) => n + v.calls, 0)
  const setup = setupPool + (r.exec?.setupCalls ?? 0)
  return {
    fleet: r.fleet,
    dry_run: r.dryRun,
    reconcile: r.reconcile,
    ok: vms.every((v) => v.state !== 'failed' && v.state !== 'skipped'),
    vms,
    bases,
    templates,
    extras: r.plan.extras,
    pool_leftovers: r.plan.poolLeftovers.map((l) => {
      const done = r.exec?.poolLeftovers.find((d) => d.pool === l.pool)
      return { pool: l.pool, leftovers: done ? done.removed : describe(l.found, l.pool), error: done?.error ?? null }
    }),
    pools: r.pools.map((p) => ({
      name: p.name,
      url: p.url,
      error: 'error' in p ? p.error : null,
      host: 'hostReport' in p ? p.hostReport : null,
      warnings: r.poolWarnings.find((w) => w.pool === p.name)?.warnings ?? [],
    })),
    calls: { total: setup + vmCalls, setup, vms: vmCalls },
    waves: r.waves.map((w, k) => {
      const o = r.exec?.waves[k]
      return { wave: k + 1, vms: w.map((i) => r.plan.vms[i]!.spec.name), state: o?.state ?? 'planned', error: o?.error ?? null }
    }),
    failed_wave: (r.exec?.waves.findIndex((w) => w.state === 'failed') ?? -1) + 1 || null,
    duration_ms: Date.now() - r.startedAt,
  }
}
