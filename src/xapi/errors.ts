/**
 * The one error type for XAPI failures: XAPI's code and parameters, plus the method
 * that failed. Parameters are XAPI's own (refs, field names), never credentials:
 * session.login_with_password failures are rebuilt without the password.
 */
export class XapiError extends Error {
  override name = 'XapiError'
  constructor(
    readonly code: string,
    readonly params: readonly string[],
    readonly method: string,
  ) {
    super(`${method}: ${code}${params.length ? ` [${params.join(', ')}]` : ''}`)
  }
}

/** Structural check for the xen-api client's XapiError (code + params). */
export function isXapiLike(e: unknown): e is { code: string; params: unknown[] } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && Array.isArray((e as { params?: unknown }).params)
}

export function hasCode(e: unknown, code: string): boolean {
  return e instanceof XapiError && e.code === code
}
