import { UserError } from '../errors.js'
import { credentialsFromEnv, envSource } from './env.js'
import { resolvePassword } from './password.js'

/**
 * One rule for every command that logs in or serves logins (provision, convert, sim):
 *   user:     XAPI_USER (environment, then ./.env), else the fallback's user, else root
 *   password: --password-file, else XAPI_PASSWORD (environment, then ./.env), else the
 *             fallback's (an inventory file's, the simulator's own), else a prompt on a terminal.
 * `source` says where each came from, for a line a person reads; never the password.
 */
export interface ResolvedCredentials {
  user: string
  password: string
  source: string
}

export interface Fallback {
  user: string
  password: string
  /** Where the fallback comes from: "the simulator's default", "the inventory file". */
  from: string
}

export const DEFAULT_USER = 'root'

export async function resolveCredentials(o: { passwordFile?: string | undefined; fallback?: Fallback | undefined; prompt?: boolean }): Promise<ResolvedCredentials> {
  const env = credentialsFromEnv()
  const user = env.user ?? o.fallback?.user ?? DEFAULT_USER
  const userFrom = env.user ? envSource('XAPI_USER') : o.fallback ? o.fallback.from : 'the default'
  let password: string | undefined
  let passwordFrom: string
  if (o.passwordFile !== undefined || env.password !== undefined || !o.fallback) {
    password = await resolvePassword({ file: o.passwordFile, env: env.password, user, prompt: o.prompt ?? true })
    passwordFrom = o.passwordFile !== undefined ? `--password-file ${o.passwordFile}` : env.password !== undefined ? envSource('XAPI_PASSWORD') : 'the prompt'
  } else {
    password = o.fallback.password
    passwordFrom = o.fallback.from
  }
  if (password === undefined) {
    throw new UserError({
      what: 'No password',
      why: `user ${user} (${userFrom}) has no password: XAPI_PASSWORD is not set, there is no --password-file, and no terminal to ask on`,
      fix: 'set XAPI_PASSWORD in the environment or in ./.env (see .env.example), or pass --password-file <file>',
      code: 'credentials-missing',
    })
  }
  return { user, password, source: `user ${user} (${userFrom}), password from ${passwordFrom}` }
}

/** A refused login says which credentials were tried and where they came from. */
export function withCredentialSource(e: unknown, source: string): unknown {
  if (!(e instanceof UserError) || e.code !== 'SESSION_AUTHENTICATION_FAILED') return e
  return new UserError({ ...e.info, fix: `the host refused ${source}; check them (XAPI_USER, XAPI_PASSWORD or --password-file)` }, { cause: e.cause })
}
