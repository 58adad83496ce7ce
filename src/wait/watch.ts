import { diagnose, type BootRecord, type Diagnosis } from './diagnose.js'
import { allIps, evaluate, NULL_REF, primaryIp, type Observation } from './observe.js'
import { needsAgent, type Probe } from './probes.js'
import { tryConnect } from './tcp.js'

/** The subset of a connection the wait needs (keeps this module free of xen-api). */
interface Caller {
  call<T>(method: string, ...args: unknown[]): Promise<T>
}

interface EventBatch {
  events: { class: string; ref: string; operation: string; snapshot?: Record<string, unknown> }[]
  token: string
}

export interface WaitOptions {
  timeoutMs: number
  /** Give up early when probes need an agent and none has reported by then (default: a third of the timeout, at most 5 min). */
  agentGraceMs?: number
  /** The VM's VIF device numbers. */
  devices: string[]
  /** The simulator's record of the last firmware boot (sim only). */
  bootConsole?: (() => BootRecord | undefined) | undefined
  now?: () => number
}

export interface Ready {
  ips: string[]
  ready_after_ms: number
  probes: string[]
}

export class NotReady extends Error {
  override name = 'NotReady'
  constructor(
    readonly diagnosis: Diagnosis,
    readonly waitedMs: number,
    readonly early: boolean,
  ) {
    super(diagnosis.why)
  }
}

/** event.from's timeout must go out as a <double>: keep a fractional part. */
const asFloat = (ms: number): number => Math.max(0.1, Math.floor(ms / 100) / 10) + 0.01
/** How often closed tcp ports are tried again: the one probe no event announces. */
const TCP_RETRY_MS = 1000
const TCP_CONNECT_MS = 1000

/**
 * Waits until every probe holds, driven by event.from on the VM ("vm/<ref>") and, once
 * the agent has reported, on its VM_guest_metrics, from token "" so the current state
 * comes first. A VM that stops running, a firmware that found nothing (simulator), or
 * no agent after the grace period ends the wait early with the diagnosis; otherwise it
 * ends at the timeout with one.
 */
export async function waitReady(x: Caller, vm: string, probes: Probe[], o: WaitOptions): Promise<Ready> {
  const now = o.now ?? Date.now
  const start = now()
  const deadline = start + o.timeoutMs
  const grace = o.agentGraceMs ?? Math.min(o.timeoutMs / 3, 300_000)
  const obs: Observation = { power_state: 'Running', guest_metrics: NULL_REF, networks: undefined, xenstore_data: {}, devices: o.devices, tcp: new Map() }
  let token = ''
  let lastTcp = 0
  const fail = (early: boolean): never => {
    throw new NotReady(diagnose(probes, obs, o.bootConsole?.(), now() - start), now() - start, early)
  }
  for (;;) {
    const classes = [`vm/${vm}`, ...(obs.guest_metrics !== NULL_REF ? [`vm_guest_metrics/${obs.guest_metrics}`] : [])]
    const left = deadline - now()
    const tcpPending = probes.some((p) => p.kind === 'tcp' && !obs.tcp.get(p.port)?.open) && primaryIp(obs) !== undefined
    const graceLeft = start + grace - now()
    const pollMs = Math.min(30_100, Math.max(left, 0), tcpPending ? TCP_RETRY_MS : Infinity, graceLeft > 0 ? graceLeft : Infinity)
    const batch = await x.call<EventBatch>('event.from', classes, token, asFloat(pollMs))
    token = batch.token
    for (const ev of batch.events) absorb(obs, ev, () => (token = ''))
    if (tcpPending && now() - lastTcp >= TCP_RETRY_MS - 50) {
      lastTcp = now()
      const ip = primaryIp(obs)!
      await Promise.all(probes.filter((p) => p.kind === 'tcp').map(async (p) => obs.tcp.set(p.port, { ip, ...(await tryConnect(ip, p.port, TCP_CONNECT_MS)) })))
    }
    if (probes.every((p) => evaluate(p, obs).ok)) return { ips: allIps(obs), ready_after_ms: now() - start, probes: probes.map((p) => p.text) }
    // Causes no waiting can cure end the wait at once.
    if (obs.power_state !== 'Running' || o.bootConsole?.()?.booted === false) fail(true)
    if (obs.networks === undefined && probes.some(needsAgent) && now() - start >= grace) fail(true)
    if (now() >= deadline) fail(false)
  }
}

function absorb(obs: Observation, ev: EventBatch['events'][number], resubscribe: () => void): void {
  const s = ev.snapshot
  if (ev.class === 'vm') {
    if (ev.operation === 'del' || !s) {
      obs.power_state = 'destroyed'
      return
    }
    obs.power_state = String(s.power_state)
    obs.xenstore_data = (s.xenstore_data ?? {}) as Record<string, string>
    const gm = String(s.guest_metrics ?? NULL_REF)
    if (gm !== obs.guest_metrics) {
      obs.guest_metrics = gm
      if (gm === NULL_REF) obs.networks = undefined
      // A new object to watch: start over from "" so its current state comes first.
      else resubscribe()
    }
  } else if (ev.class === 'vm_guest_metrics' && ev.ref === obs.guest_metrics) {
    obs.networks = ev.operation === 'del' || !s ? undefined : ((s.networks ?? {}) as Record<string, string>)
  }
}
