import { UserError } from '../errors.js'

/**
 * Asked before a plan that halts, reboots or replaces a VM is applied: gets one line per
 * disruptive action and says yes or no. The CLI asks on a terminal; a library user decides
 * in code. Absent, only `yes` applies such a plan.
 */
export type Confirm = (disruptive: string[]) => Promise<boolean>

export interface ConsentOptions {
  /** The user already agreed (--yes). */
  yes?: boolean | undefined
  confirm?: Confirm | undefined
}

/**
 * The gate every command that changes existing VMs passes before its first change: no
 * disruptive action, or consent to all of them. Refused → nothing was changed, and the
 * error says what would have been disrupted and how to agree.
 */
export async function requireConsent(disruptive: string[], o: ConsentOptions, again: string): Promise<void> {
  if (!disruptive.length || o.yes) return
  const what = disruptive.length === 1 ? disruptive[0]! : `${disruptive.length} disruptive actions: ${disruptive.join('; ')}`
  if (!o.confirm) {
    throw new UserError({
      what: `Not applied: the plan halts, reboots or replaces VMs`,
      why: `${what}; this needs consent, and there is no terminal to ask on`,
      fix: `review it with ${again} --dry-run, then run ${again} --yes; nothing was changed`,
      code: 'consent-required',
    })
  }
  if (!(await o.confirm(disruptive))) {
    throw new UserError({ what: 'Not applied: the answer was no', why: what, fix: `nothing was changed; run ${again} again when ready, or with --yes`, code: 'declined' })
  }
}
