import { z } from 'zod'
import { connect } from '../xapi/connection.js'
import { resolveTls, type TlsPolicy } from '../xapi/tls.js'
import type { Timeouts } from '../xapi/timeouts.js'
import { destroyCalls, destroyVm, planDestroy } from './destroy.js'
import { requireConsent, type Confirm } from './consent.js'
import { claimName, type Claim } from './claim.js'
import type { ProvisionWaits } from './types.js'

export interface DestroyOptions {
  url: string
  user: string
  password: string
  tls?: TlsPolicy
  /** The VM's name-label. */
  name: string
  dryRun?: boolean
  /** Consent given up front: destroying a VM is always disruptive (its disks go with it). */
  yes?: boolean
  confirm?: Confirm
  timeouts?: Partial<Timeouts>
  onStep?: (id: string, title: string) => void
  /** How long to wait for a run that holds the name (provision's claim), and how often to look. */
  waits?: Pick<ProvisionWaits, 'claimMs' | 'claimStaleMs' | 'pollMs'>
  /** "another run holds …: waiting" and other notices while waiting for the claim. */
  onWait?: (message: string) => void
  signal?: AbortSignal
}

export const DestroyResult = z.object({
  dry_run: z.boolean(),
  vm: z.object({ uuid: z.string(), name: z.string(), power_state: z.string() }),
  /** The disks the tool made for it, destroyed with it. */
  disks: z.array(z.object({ uuid: z.string(), name_label: z.string() })),
  /** Disks attached to it that the tool did not make: detached by VM.destroy, never destroyed. */
  kept: z.array(z.object({ uuid: z.string(), name_label: z.string() })),
  calls: z.array(z.string()),
  removed: z.array(z.string()),
})
export type DestroyResult = z.infer<typeof DestroyResult>

/**
 * `provision destroy <name>` (xe's word: uninstall): the VM of that name, if the tool made
 * it, and the disks the tool made for it; never another VM, never a disk it did not make.
 * Always disruptive (the data on its disks is gone), so it needs consent like any plan that
 * halts or replaces a VM.
 */
export async function destroy(o: DestroyOptions): Promise<DestroyResult> {
  const x = await connect({
    url: o.url,
    user: o.user,
    password: o.password,
    tls: await resolveTls(o.url, o.tls ?? { kind: 'verify' }, o.timeouts?.connectMs),
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
  })
  let claim: Claim | undefined
  try {
    // The name's claim, as provision takes it: a provision of this name in progress ends
    // first (the destroy waits, bounded, saying so), and none starts until this one is done.
    // Taken before the plan, so the plan sees the VM as that run left it. A dry run takes none.
    if (!o.dryRun) {
      const w = o.waits ?? {}
      claim = await claimName(x, o.name, { purpose: 'destroy', waitMs: w.claimMs, staleMs: w.claimStaleMs, pollMs: w.pollMs, onWait: o.onWait, signal: o.signal })
    }
    const plan = await planDestroy(x, o.name)
    const base = {
      vm: { uuid: plan.vm.uuid, name: plan.vm.name, power_state: plan.vm.power_state },
      disks: plan.disks.map(({ uuid, name_label }) => ({ uuid, name_label })),
      kept: plan.kept,
      calls: destroyCalls(plan),
    }
    if (o.dryRun) return { dry_run: true, ...base, removed: [] }
    const disks = plan.disks.map((d) => `${d.name_label} (${d.uuid})`).join(', ') || 'no disk of its own'
    await requireConsent([`${o.name} (${plan.vm.uuid}, ${plan.vm.power_state.toLowerCase()}) is destroyed with ${disks}`], o, `provision destroy ${o.name}`)
    return { dry_run: false, ...base, removed: await destroyVm(x, plan, o.onStep) }
  } finally {
    await claim?.release()
    await x.close().catch(() => undefined)
  }
}
