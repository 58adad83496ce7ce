import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, expect } from 'vitest'
import { BIN, runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { needs } from '../support/oracles.js'
import { tempDir } from '../image/helpers/tools.js'
import type { Simulator } from '../../mocks/simulator.js'
import { fixInsideGuest, pvGuest } from './helpers/sim-guest.js'

/** Calls inside each step of a conversion, held long enough to kill the process there. */
const KILL_POINTS = ['VM.add_to_other_config', 'VDI.snapshot', 'VDI.set_name_label', 'task.create', 'VM.set_HVM_boot_params', 'VM.set_PV_args']
const HOLD_MS = 1200

const env = (sim: Simulator): Record<string, string> => ({ PATH: process.env.PATH ?? '', XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })
const ARGS = (sim: Simulator, ...more: string[]): string[] => ['convert', 'FreeBSD-9.0', '--host', sim.url, '--install-bootcode', '--json', ...more]

async function killWhenCalled(sim: Simulator, method: string): Promise<void> {
  const seen = sim.calls().length
  const child = spawn(process.execPath, [BIN, ...ARGS(sim)], { env: env(sim), stdio: 'ignore' })
  const closed = new Promise<string | null>((resolve) => child.on('close', (_c, sig) => resolve(sig)))
  for (
    let i = 0;
    i < 400 &&
    !sim
      .calls()
      .slice(seen)
      .some((m) => m === method || m === `Async.${method}`);
    i++
  )
    await sleep(25)
  child.kill('SIGKILL')
  expect(await closed, `the run should have been killed during ${method}`).toBe('SIGKILL')
}

needs('makefs', 'sfdisk').describe('kill -9 during a conversion, then the same command', () => {
  const tmp = tempDir('convert-kill-')
  afterAll(() => tmp.cleanup())
  for (const method of KILL_POINTS) {
    needs('makefs', 'sfdisk').it(`killed during ${method}: the re-run converts, with one snapshot; --undo then restores the disk`, async () => {
      const sim = await withSimulator()
      const { vm, vdi } = await pvGuest(sim, tmp.dir)
      const fixed = fixInsideGuest(sim, vdi, tmp.dir)
      const before = sim.readVdi(vdi, 0, fixed.length)
      sim.faults.add({ method, delayMs: HOLD_MS })
      await killWhenCalled(sim, method)
      await sleep(HOLD_MS + 300) // the held call completes on the "host" after the client died
      sim.faults.clear()
      const again = await runCli(ARGS(sim), env(sim))
      expect(again.code, again.stdout + again.stderr).toBe(0)
      expect(JSON.parse(again.stdout).action).toBe('converted')
      const rec = sim.objects().VM![vm]!
      expect([rec.domain_type, rec.PV_bootloader]).toEqual(['hvm', ''])
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(1)
      expect(Object.values(sim.objects().task ?? {}).filter((t) => t.status === 'pending')).toEqual([])
      const undo = await runCli(['convert', 'FreeBSD-9.0', '--host', sim.url, '--undo', '--json'], env(sim))
      expect(undo.code, undo.stdout + undo.stderr).toBe(0)
      expect(sim.readVdi(vdi, 0, fixed.length).equals(before)).toBe(true)
      expect(sim.objects().VM![vm]!.PV_bootloader).toBe('pygrub')
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(0)
    })
  }
})
