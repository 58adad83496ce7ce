import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, runDirs } from '../support/cli.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'
import type { Simulator } from '../../mocks/simulator.js'

export const simEnv = (sim: Simulator): Record<string, string> => ({ XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })

export async function sampleImage(prefix = 'kill-'): Promise<string> {
  const image = join(await mkdtemp(join(tmpdir(), prefix)), 'img')
  await writeSampleImage(image, { diskSize: SMALL_PV })
  return image
}

/** Starts a provision and SIGKILLs it once `when` resolves (a held call reached, say); resolves with its stderr. `env` adds to its environment (a TMPDIR of the test's own, say). */
export async function killWhen(sim: Simulator, args: string[], when: Promise<unknown>, env: Record<string, string> = {}): Promise<{ killed: boolean; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args, '--host', sim.url], { env: { PATH: process.env.PATH ?? '', ...runDirs(), ...simEnv(sim), ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  void when.then(() => child.kill('SIGKILL'))
  const killed = await new Promise<boolean>((resolve) => child.on('close', (_c, sig) => resolve(sig === 'SIGKILL')))
  return { killed, stderr }
}

export function count(sim: Simulator, cls: string, pred: (r: Record<string, unknown>) => boolean = () => true): number {
  return Object.values(sim.objects()[cls] ?? {}).filter(pred).length
}

/** Guests: VMs that are neither templates nor dom0. */
export const guests = (sim: Simulator): Record<string, unknown>[] => Object.values(sim.objects().VM ?? {}).filter((v) => !v.is_a_template && !v.is_control_domain)
