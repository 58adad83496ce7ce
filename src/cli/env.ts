import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** The variables ./.env set (those the environment did not already hold), to say where a value came from. */
const fromDotEnv = new Set<string>()

/** Loads ./.env when present; variables already in the environment win, as with dotenv. */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = join(cwd, '.env')
  if (!existsSync(file)) return
  const before = new Set(Object.keys(process.env))
  process.loadEnvFile(file)
  for (const k of Object.keys(process.env)) if (!before.has(k)) fromDotEnv.add(k)
}

/** "XAPI_PASSWORD (environment)" or "XAPI_PASSWORD (./.env)": where a variable's value came from. */
export const envSource = (name: string): string => `${name} (${fromDotEnv.has(name) ? './.env' : 'environment'})`

export interface EnvCredentials {
  user: string | undefined
  password: string | undefined
}

export const credentialsFromEnv = (): EnvCredentials => ({ user: process.env.XAPI_USER || undefined, password: process.env.XAPI_PASSWORD || undefined })
