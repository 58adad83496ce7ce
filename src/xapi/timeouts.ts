import { UserError } from '../errors.js'

/**
 * How long any network wait may last, for XAPI calls and raw VDI transfers alike.
 * Every limit is far above what a working host needs (docs/reliability.md, "Timeouts"),
 * so only a host that has stopped answering trips one.
 */
export interface Timeouts {
  /** TCP connect plus TLS handshake. */
  connectMs: number
  /**
   * From the request sent to the whole answer of an XAPI call (to the status line of a
   * transfer). A host that sends one byte a second still ends here.
   */
  responseMs: number
  /** No byte in either direction for this long, once the answer has started (a transfer: at any time). */
  idleMs: number
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 30_000, responseMs: 120_000, idleMs: 120_000 }

/** The CLI's name for each limit, for the fix in a message. */
export const TIMEOUT_OPTIONS: Record<keyof Timeouts, string> = {
  connectMs: '--timeout-connect',
  responseMs: '--timeout-response',
  idleMs: '--timeout-idle',
}

export const withDefaults = (t: Partial<Timeouts> | undefined): Timeouts => ({ ...DEFAULT_TIMEOUTS, ...t })

/**
 * Sync calls that make the SR do work: on a busy LVM or NFS SR these take minutes, not
 * seconds, and XAPI answers only once the work is done.
 */
const STORAGE_CALLS = new Set(['VDI.create', 'VDI.destroy', 'VDI.clone', 'VDI.copy', 'VM.clone', 'VM.copy', 'VM.snapshot'])
export const STORAGE_FACTOR = 5

/**
 * The response allowance of one call. event.from is a long-poll: XAPI holds it until
 * something changes or its own timeout (the third argument, in seconds) runs out, so
 * that time is added to the allowance rather than counted as silence.
 */
export function callAllowanceMs(method: string, args: readonly unknown[], t: Timeouts): number {
  if (method === 'event.from') {
    const poll = Number(args[args.length - 1])
    return (Number.isFinite(poll) && poll > 0 ? poll * 1000 : 0) + t.responseMs
  }
  return STORAGE_CALLS.has(method) ? t.responseMs * STORAGE_FACTOR : t.responseMs
}

export type TimeoutPhase = 'connect' | 'response' | 'idle'

const secs = (ms: number): string => `${ms >= 10_000 ? Math.round(ms / 1000) : Number((ms / 1000).toFixed(1))} s`

const LIMIT_OF: Record<TimeoutPhase, keyof Timeouts> = { connect: 'connectMs', response: 'responseMs', idle: 'idleMs' }

/**
 * A network wait that ran out: which host, what was being done, which limit, how long.
 * A UserError, so it reaches the user as it is (what/why/fix) whatever layer it crosses.
 */
export class HostTimeout extends UserError {
  override name = 'HostTimeout'
  constructor(
    readonly host: string,
    readonly doing: string,
    readonly phase: TimeoutPhase,
    readonly ms: number,
  ) {
    const option = TIMEOUT_OPTIONS[LIMIT_OF[phase]]
    super({
      code: 'timeout',
      what:
        phase === 'connect'
          ? `Could not connect to ${host} within ${secs(ms)} (${doing})`
          : phase === 'response'
            ? `${host} did not answer ${doing} within ${secs(ms)}`
            : `${host} sent nothing for ${secs(ms)} during ${doing}`,
      why:
        phase === 'connect'
          ? `the TCP connection or the TLS handshake did not complete (connect timeout, ${option})`
          : phase === 'response'
            ? `the host took the request but its answer did not arrive in full (response timeout, ${option}); a working XAPI answers in seconds`
            : `the transfer stalled with the connection open (idle timeout, ${option})`,
      fix:
        phase === 'connect'
          ? `check the host name and port (XAPI listens on 443), that the host is up and that no firewall drops the connection; raise ${option} only for a very slow link`
          : `check that the toolstack on the host is running (xe host-list on it; xe-toolstack-restart if it hangs) and that no proxy or firewall holds the connection; raise ${option} only if the host is known to be this slow`,
    })
  }
}

/** A got timeout event ("connect", "socket", "response"…) as one of our phases. */
export function phaseOfGotEvent(event: string | undefined): TimeoutPhase {
  if (event === 'lookup' || event === 'connect' || event === 'secureConnect') return 'connect'
  if (event === 'socket' || event === 'read') return 'idle'
  return 'response'
}

/** got's timeout options for one transfer: the same three limits as every XAPI call. */
export function gotTimeouts(t: Timeouts): { lookup: number; connect: number; secureConnect: number; socket: number; response: number } {
  return { lookup: t.connectMs, connect: t.connectMs, secureConnect: t.connectMs, socket: t.idleMs, response: t.responseMs }
}
