import { startSimulator } from '../../mocks/simulator.js'
import { UserError, EXIT } from '../errors.js'
import { credentialsFromEnv } from './env.js'

/**
 * `provision sim`: the standalone simulator. Its first stdout line is the contract
 * scripts wait for: "XAPI simulator listening on http://ADDR:PORT".
 */
export async function runSimulator(args: { port?: string | undefined; listen?: string | undefined }): Promise<number> {
  const port = args.port === undefined ? 0 : Number(args.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError({ what: `--port ${args.port} is not a port`, why: 'a port is a whole number from 0 to 65535', fix: 'pass e.g. --port 8080 (0 picks a free one)', exitCode: EXIT.usage })
  }
  const env = credentialsFromEnv()
  const sim = await startSimulator({
    port,
    listen: args.listen ?? '127.0.0.1',
    ...(env.user && env.password ? { credentials: { user: env.user, password: env.password } } : {}),
  })
  process.stdout.write(`XAPI simulator listening on ${sim.url.replace(/\/$/, '')}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await sim.close()
  return 0
}
