import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { runCli } from '../support/cli.js'
import { RolloutResult } from '../../src/fleet/types.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import { DRIVE_KEY } from '../../src/provision/first-boot.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { killAt } from '../../bench/soak-fleet.js'
import { withSimulator } from '../support/simulator.js'
import { count } from '../reliability/kill-support.js'
import { ENV } from './support.js'

let dir: string
let image: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-kill-drive-'))
  image = join(dir, 'hvm.img')
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
  await writeFile(
    join(dir, 'hvm.yaml'),
    `name: kd
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 512MiB, dynamic_min: 512MiB, dynamic_max: 512MiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
`,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

type Task = { name_label: string; name_description: string; status: string }
const ours = (t: Task): boolean => t.name_label.startsWith('xcp-provision:')

describe("provision rollout killed with -9 during a VM's config drive upload, then the same command", () => {
  it("removes the upload task the killed run left pending, with the unfinished VM and its drive (provision's rule)", async () => {
    const sim = await withSimulator({ guestBootMs: 20 })
    const fleet: FleetInput = {
      name: 'web',
      pools: { lab: { url: sim.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' } },
      groups: [{ recipe: './hvm.yaml', image, pools: ['lab'], names: ['web-1'], cloud_init: { user_data: '#cloud-config\nruncmd: ["xenstore-write vm-data/ready 1"]\n' }, wait: 'vm-data:ready=1' }],
    }
    const file = join(dir, 'fleet.yaml')
    await writeFile(file, stringify(fleet))
    // The base's upload makes the first task; web-1's drive upload the second. The held
    // task.create lands after the client died: a pending task nobody will ever end.
    expect(await killAt(sim, file, 'task.create', 2, ENV)).toBe(true)
    const tasks = (): Task[] => Object.values(sim.objects().task ?? {}) as Task[]
    const drives = Object.entries(sim.objects().VDI ?? {}).filter(([, v]) => (v.other_config as Record<string, string>)[DRIVE_KEY])
    expect(drives).toHaveLength(1)
    expect(
      tasks()
        .filter(ours)
        .map((t) => [t.status, t.name_description.startsWith(`${drives[0]![0]}: `)]),
    ).toEqual([['pending', true]])

    const again = await runCli(['rollout', file, '--json'], ENV)
    expect(again.code, again.stderr).toBe(0)
    const r = RolloutResult.parse(JSON.parse(again.stdout))
    expect(r.vms.map((v) => [v.name, v.state])).toEqual([['web-1', 'created']])
    expect(r.vms[0]!.leftovers).toEqual(expect.arrayContaining([expect.stringMatching(/^VM /), expect.stringMatching(/^VDI web-1-cidata /), 'task "xcp-provision: import raw VDI"']))
    // Nothing of ours left: no pending task, no import task, one drive (the new VM's), no VM under the temporary name.
    expect(tasks().filter((t) => ours(t) || t.status === 'pending')).toEqual([])
    expect(count(sim, 'VDI', (v) => Boolean((v.other_config as Record<string, string>)[DRIVE_KEY]))).toBe(1)
    expect(count(sim, 'VM', (v) => String(v.name_label).endsWith('[xcp-provision: incomplete]'))).toBe(0)
  })
})
