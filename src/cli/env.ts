import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** Loads ./.env when present; variables already in the environment win, as with dotenv. */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = join(cwd, '.env')
  if (existsSync(file)) process.loadEnvFile(file)
}

export interface EnvCredentials {
  user: string | undefined
  password: string | undefined
}

export const credentialsFromEnv = (): EnvCredentials => ({ user: process.env.XAPI_USER, password: process.env.XAPI_PASSWORD })
