import { afterAll, expect } from 'vitest'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { until } from '../support/until.js'
import { needs } from '../support/oracles.js'
import { tempDir } from '../image/helpers/tools.js'
import { killWhen } from '../reliability/kill-support.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { SavedPool } from '../../mocks/state-file.js'
import { convert } from '../../src/convert/run.js'
import { fixInsideGuest, opts, pvGuest } from './helpers/sim-guest.js'

/** Calls inside each step of a conversion: the simulator holds each until the process is dead. */
const KILL_POINTS = ['VM.add_to_other_config', 'VDI.snapshot', 'VDI.set_name_label', 'task.create', 'VM.set_HVM_boot_params', 'VM.set_PV_args']

/**
 * The re-run and --undo are the library's work (find the killed run's marks and snapshot,
 * finish or undo): in-process for most points, the spawned CLI after a kill in the
 * upload of the boot code, so the real process's output and exit code stay covered
 * (a spawned run costs ~0.5 s of CPU more). The killed run is always a real process.
 */
const SPAWNED = new Set(['task.create'])

const env = (sim: Simulator): Record<string, string> => ({ PATH: process.env.PATH ?? '', XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })
const CONVERT = ['convert', 'FreeBSD-9.0', '--install-bootcode', '--json']
const ARGS = (sim: Simulator, ...more: string[]): string[] => [...CONVERT, '--host', sim.url, ...more]

/** The held call finishes on the "host" after its client died, as xapi's would: its Async.* task is no longer pending. */
async function settled(sim: Simulator): Promise<void> {
  const busy = (): boolean => Object.values(sim.objects().task ?? {}).some((t) => t.status === 'pending' && String(t.name_label).startsWith('Async.'))
  // Up to 10 s, and a failure if not: it gave up silently after 2 s, and on a loaded machine
  // the re-run then raced the host still finishing the held call.
  await until('the held call to finish on the host (no Async.* task pending)', () => !busy())
}

needs('makefs', 'sfdisk').describe('kill -9 during a conversion, then the same command', () => {
  const tmp = tempDir('convert-kill-')
  afterAll(() => tmp.cleanup())
  /**
   * The halted PV guest with the guest's own fixes on its disk, made once for the file (an
   * in-process provision, ~0.5 s of CPU) and restored into each point's fresh simulator
   * from the saved pool, as `provision sim --state-file` keeps one (mocks/state-file.ts).
   */
  let world: Promise<{ saved: SavedPool; vm: string; vdi: string; fixedLength: number }> | undefined
  const guestWorld = (): NonNullable<typeof world> =>
    (world ??= (async () => {
      const sim = await withSimulator()
      const { vm, vdi } = await pvGuest(sim, tmp.dir)
      const fixed = fixInsideGuest(sim, vdi, tmp.dir)
      return { saved: sim.save(), vm, vdi, fixedLength: fixed.length }
    })())
  for (const method of KILL_POINTS) {
    needs('makefs', 'sfdisk').it(`killed during ${method}: the re-run converts, with one snapshot; --undo then restores the disk`, async () => {
      const { saved, vm, vdi, fixedLength } = await guestWorld()
      const sim = await withSimulator({ restore: saved })
      const before = sim.readVdi(vdi, 0, fixedLength)
      const hold = sim.faults.hold(method)
      const first = await killWhen(sim, CONVERT, hold.reached)
      expect(first.killed, `the run should have been killed during ${method}; stderr:\n${first.stderr}`).toBe(true)
      hold.release()
      await settled(sim)
      sim.faults.clear()
      if (SPAWNED.has(method)) {
        const again = await runCli(ARGS(sim), env(sim))
        expect(again.code, again.stdout + again.stderr).toBe(0)
        expect(JSON.parse(again.stdout).action).toBe('converted')
      } else {
        expect((await convert(opts(sim, { installBootcode: true }))).action).toBe('converted')
      }
      const rec = sim.objects().VM![vm]!
      expect([rec.domain_type, rec.PV_bootloader]).toEqual(['hvm', ''])
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(1)
      expect(Object.values(sim.objects().task ?? {}).filter((t) => t.status === 'pending')).toEqual([])
      if (SPAWNED.has(method)) {
        const undo = await runCli(['convert', 'FreeBSD-9.0', '--host', sim.url, '--undo', '--json'], env(sim))
        expect(undo.code, undo.stdout + undo.stderr).toBe(0)
      } else {
        expect((await convert(opts(sim, { undo: true }))).action).toBe('undone')
      }
      expect(sim.readVdi(vdi, 0, fixedLength).equals(before)).toBe(true)
      expect(sim.objects().VM![vm]!.PV_bootloader).toBe('pygrub')
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(0)
    })
  }
})
