/**
 * The user-facing error: what failed, why, and what to do about it. Everything the
 * CLI prints on failure goes through this shape (or `--json`'s rendering of it).
 * Messages never carry credentials or session ids.
 */
export interface UserErrorInfo {
  what: string
  why: string
  fix: string
  /**
   * A stable, machine-readable name for the failure: one of ERROR_CODES, or XAPI's own
   * code (upper case, e.g. SR_BACKEND_FAILURE_44) when XAPI refused. Scripts branch on it;
   * the words may change, the code does not. Default: derived from exitCode (errorCode()).
   */
  code?: string
  /** Objects this run removed while rolling back, or left behind on request. */
  removed?: string[]
  kept?: string[]
  exitCode?: number
}

export class UserError extends Error {
  override name = 'UserError'
  readonly info: UserErrorInfo
  constructor(info: UserErrorInfo, options?: { cause?: unknown }) {
    super(`${info.what}: ${info.why}`, options)
    this.info = info
  }

  /** The stable code: the one given, XAPI's when the cause is an XAPI failure, or the exit code's default. */
  get code(): string {
    return errorCode(this.info, this.cause)
  }
}

export const EXIT = {
  failure: 1,
  usage: 2,
  badRecipe: 3,
  interrupted: 130,
} as const

/**
 * Every code the tool gives, with the exit code the CLI ends with and what it means.
 * A contract: docs/cli.md has the same table (a test compares them), and a code is
 * never renamed or reused. XAPI's own codes (upper case) come on top, with exit 1.
 */
export const ERROR_CODES = {
  'bad-argument': { exit: EXIT.usage, meaning: 'an option, argument or combination the command does not take (unknown option, missing value, bad number)' },
  'credentials-missing': { exit: EXIT.usage, meaning: 'no user or password: XAPI_USER / XAPI_PASSWORD, --password-file, or a terminal to ask on' },
  'port-in-use': { exit: EXIT.usage, meaning: 'provision sim: another process listens on the port given' },
  'wrong-scheme': { exit: EXIT.usage, meaning: 'https:// sent to an http endpoint, or http:// to an https one' },
  'image-unreadable': { exit: EXIT.usage, meaning: 'the image file is missing, unreadable, damaged or in a format the tool does not read' },
  'inventory-invalid': { exit: EXIT.usage, meaning: 'provision sim: the inventory file is not valid' },
  'state-file-invalid': { exit: EXIT.usage, meaning: 'provision sim: the state file is not valid or holds no pool' },
  'recipe-not-found': { exit: EXIT.badRecipe, meaning: 'no built-in recipe by that name, or the recipe file does not exist' },
  'recipe-invalid': { exit: EXIT.badRecipe, meaning: 'the recipe (or its cloud-init data) does not parse or breaks a rule' },
  'fleet-not-found': { exit: EXIT.badRecipe, meaning: 'the fleet file does not exist or cannot be read' },
  'fleet-invalid': { exit: EXIT.badRecipe, meaning: 'the fleet file does not parse or breaks a rule (a name pattern too large included)' },
  'address-pool-exhausted': { exit: EXIT.badRecipe, meaning: 'rollout: an address pool has fewer free addresses than the VMs that need one; nothing was changed' },
  'image-not-bootable': { exit: EXIT.failure, meaning: "the preflight predicts the image will not boot with the recipe's settings" },
  'host-unsupported': { exit: EXIT.failure, meaning: "the host's release cannot run the recipe's boot mode" },
  'name-taken': { exit: EXIT.failure, meaning: 'a VM of that name already exists (or another run is making it)' },
  'mac-taken': { exit: EXIT.failure, meaning: 'the MAC the recipe gives (or derives from the name) is on another VIF' },
  ambiguous: { exit: EXIT.failure, meaning: 'two or more objects carry the name given (SR, template, VM): name one by uuid' },
  'guest-not-ready': { exit: EXIT.failure, meaning: '--wait: the guest did not reach the state waited for (a diagnosis says why)' },
  'not-found': { exit: EXIT.failure, meaning: 'an object the recipe or command names (SR, network, template, VM, host) is not on the pool' },
  'no-space': { exit: EXIT.failure, meaning: 'the SR (or the local disk, to decompress) has no room' },
  'connection-failed': { exit: EXIT.failure, meaning: 'the host could not be reached, or the connection broke' },
  tls: { exit: EXIT.failure, meaning: "the host's certificate is not trusted, or does not match --fingerprint" },
  timeout: { exit: EXIT.failure, meaning: 'a connect, answer, transfer or --wait limit passed' },
  'verify-mismatch': { exit: EXIT.failure, meaning: '--verify read back a VDI that differs from the image' },
  'convert-refused': { exit: EXIT.failure, meaning: 'convert: something inside the guest blocks an HVM boot; nothing was changed' },
  'consent-required': { exit: EXIT.usage, meaning: 'the plan halts, reboots or replaces VMs and there is no terminal to ask on: review it with --dry-run, then pass --yes' },
  declined: { exit: EXIT.failure, meaning: 'the plan halts, reboots or replaces VMs and the answer on the terminal was no; nothing was changed' },
  'not-managed': { exit: EXIT.failure, meaning: "the VM carries none of the tool's marks: destroy and updates touch only what xcp-provision made" },
  failed: { exit: EXIT.failure, meaning: 'a step failed for a reason with no more specific code (the message says which)' },
  internal: { exit: EXIT.failure, meaning: 'a bug in xcp-provision: report it with the command you ran' },
  interrupted: { exit: EXIT.interrupted, meaning: 'stopped by SIGINT or SIGTERM; what the run created was removed' },
} as const satisfies Record<string, { exit: number; meaning: string }>

export type ErrorCode = keyof typeof ERROR_CODES

/** XAPI's codes are upper case with underscores (VM_BAD_POWER_STATE); ours are lower-case words. */
export const isXapiCode = (code: string): boolean => /^[A-Z][A-Z0-9_]*$/.test(code)

/** Structural: the xen-api client's and src/xapi's errors carry code + params (errors.ts imports nothing). */
function xapiCodeOf(cause: unknown): string | undefined {
  for (let c = cause, depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    const o = c as { code?: unknown; params?: unknown; cause?: unknown }
    if (typeof o.code === 'string' && Array.isArray(o.params) && isXapiCode(o.code)) return o.code
    c = o.cause
  }
  return undefined
}

/** The code of an error's info: the one given, XAPI's from the cause, or the exit code's default. */
export function errorCode(info: UserErrorInfo, cause?: unknown): string {
  if (info.code) return info.code
  const xapi = xapiCodeOf(cause)
  if (xapi) return xapi
  switch (info.exitCode) {
    case EXIT.usage:
      return 'bad-argument'
    case EXIT.badRecipe:
      return 'recipe-invalid'
    case EXIT.interrupted:
      return 'interrupted'
    default:
      return 'failed'
  }
}

/** The exit code: the one given, else the code's (XAPI codes and unknown ones: 1). */
export function exitCodeOf(info: UserErrorInfo): number {
  if (info.exitCode !== undefined) return info.exitCode
  const known = info.code ? (ERROR_CODES as Record<string, { exit: number }>)[info.code] : undefined
  return known?.exit ?? EXIT.failure
}
