import { describe, expect, it } from 'vitest'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../support/cli.js'
import { provisionInProcess } from '../support/in-process.js'
import { count, killWhen } from './kill-support.js'
import { withSimulator } from '../support/simulator.js'
import { until } from '../support/until.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_KERNEL, SMALL_PV } from '../support/sample-images.js'
import type { Simulator } from '../../mocks/simulator.js'

/** Each step of a provision, and a call inside it that the simulator holds for a while so the process can be killed there. */
export const KILL_POINTS: { step: string; title: string; method: string }[] = [
  { step: 'vdi.create', title: 'Create the VDI', method: 'VDI.create' },
  { step: 'upload', title: 'Upload the image', method: 'task.create' },
  { step: 'vm.install', title: 'Install the VM', method: 'VM.provision' },
  { step: 'vm.pv', title: 'Make it a PV guest', method: 'VM.set_PV_args' },
  { step: 'vm.other-config', title: 'Set other-config', method: 'VM.add_to_other_config' },
  { step: 'vm.memory', title: 'Set memory limits', method: 'VM.set_memory_limits' },
  { step: 'vm.vcpus', title: 'Set VCPUs', method: 'VM.set_VCPUs_at_startup' },
  { step: 'vif.create', title: 'Add the network interface', method: 'VIF.create' },
  { step: 'vbd.create', title: 'Attach the disk', method: 'VBD.create' },
  { step: 'vm.start', title: 'Start the VM', method: 'VM.start' },
  { step: 'vm.finish', title: 'Name the VM', method: 'VM.set_name_label' },
]

/**
 * The re-run is the library's work (find the killed run's leftovers, finish or remove
 * them): in-process for most points (the CLI's own rendering and exit code,
 * test/support/in-process.ts), a spawned CLI after the kill in the upload, so the real
 * process's output and exit code stay covered there (a spawned run costs ~0.4 s of CPU
 * more). The killed run is always a real process.
 */
const SPAWNED_RERUN = new Set(['upload'])

function env(sim: Simulator): Record<string, string> {
  return { XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password }
}

/** Once the held call has run after the kill (as a host finishes a call its client left), no Async.* task is pending. */
async function settled(sim: Simulator): Promise<void> {
  // Up to 10 s, and a failure if not: it gave up silently after 2 s, and on a loaded machine
  // the re-run then raced the host finishing the held call (a VM.start reads the disk).
  await until(
    'the held call to finish on the host (no Async.* task pending)',
    () => !Object.values(sim.objects().task ?? {}).some((t) => t.status === 'pending' && String(t.name_label).startsWith('Async.')),
  )
}

/** One sample image for every point: the runs only read it. */
let shared: Promise<string> | undefined
const sampleImage = (): Promise<string> =>
  (shared ??= (async () => {
    const image = join(await mkdtemp(join(tmpdir(), 'kill-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV, kernelSize: SMALL_KERNEL })
    return image
  })())

describe('kill -9 at each step, then the same command again', () => {
  for (const point of KILL_POINTS) {
    it(`killed during ${point.step}: the re-run ends with exactly one correct VM and nothing leaked`, async () => {
      const sim = await withSimulator()
      const image = await sampleImage()
      const vdisBefore = count(sim, 'VDI')
      // The simulator holds the step's call until the client is dead, then lets it finish, as a host would.
      const hold = sim.faults.hold(point.method)
      const { killed, stderr } = await killWhen(sim, ['freebsd-9', '--image', image], hold.reached)
      expect(killed, `the run should have been killed during "${point.title}"; stderr:\n${stderr}`).toBe(true)
      expect(stderr).toContain(point.title)
      hold.release()
      await settled(sim)
      sim.faults.clear()
      const again = SPAWNED_RERUN.has(point.step)
        ? await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--json'], env(sim))
        : await provisionInProcess({ recipe: 'freebsd-9', url: sim.url, ...sim.credentials, image, json: true })
      if (point.step === 'vm.finish') {
        // The held rename completed after the kill: the first run had finished its VM, so the
        // re-run finds it with the recipe's settings and says so (state: present), making nothing.
        expect(again.code, again.stderr).toBe(0)
        expect(JSON.parse(again.stdout)).toMatchObject({ existing: true, action: 'none', state: 'unchanged', disruptive: false })
      } else {
        expect(again.code, again.stderr).toBe(0)
      }
      const vms = Object.values(sim.objects().VM ?? {}).filter((v) => !v.is_a_template && !v.is_control_domain)
      expect(vms.map((v) => [v.name_label, v.power_state])).toEqual([['FreeBSD-9.0', 'Running']])
      expect(count(sim, 'VDI') - vdisBefore).toBe(1)
      expect(count(sim, 'VBD')).toBe(1)
      expect(count(sim, 'VIF')).toBe(1)
      // Tasks: the re-run removed this VM's upload tasks (a pending one included) and left
      // none of its own; what may remain are the killed run's finished Async.* tasks,
      // which XAPI destroys 65 minutes after they finish (Db_gc timeout_tasks).
      if (point.step === 'upload') expect(again.stderr).toContain('task "xcp-provision: import raw VDI"')
      const tasks = Object.values(sim.objects().task ?? {})
      expect(tasks.filter((t) => t.status === 'pending').map((t) => t.name_label)).toEqual([])
      expect(tasks.filter((t) => String(t.name_label).startsWith('xcp-provision:')).map((t) => t.name_label)).toEqual([])
      expect(tasks.every((t) => String(t.name_label).startsWith('Async.'))).toBe(true)
    })
  }
})
