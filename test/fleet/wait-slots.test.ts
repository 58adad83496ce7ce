import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rollout } from '../../src/index.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { withSimulator } from '../support/simulator.js'
import { ENV } from './support.js'

let dir: string
let image: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-wait-slots-'))
  // Carries guest tools: the simulated guest reports its address, so `wait: ip` holds once it booted.
  image = join(dir, 'hvm.img')
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
  await writeFile(
    join(dir, 'hvm.yaml'),
    `name: ws
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 512MiB, dynamic_min: 512MiB, dynamic_max: 512MiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
`,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Polls until `pred` holds (true) or `ms` pass (false). */
async function until(pred: () => boolean, ms = 15_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (pred()) return true
  return pred()
}

describe('a VM waiting for its guest gives its per-host slot back (docs/fleet.md "Waves and the per-host limit")', () => {
  it('a wave of 6 on one host with per_host 2: at most 2 VM.start at once, yet all 6 guests boot at once', async () => {
    const sim = await withSimulator({ guestBootMs: 20 })
    const fleet: FleetInput = {
      name: 'web',
      pools: { lab: { url: sim.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' } },
      concurrency: { total: 16, per_host: 2 },
      groups: [{ recipe: './hvm.yaml', image, pools: ['lab'], names: 'web-{1..6}', wait: 'ip' }],
    }
    // Every VM.start waits: the XAPI work of a VM holds its slot, so only per_host of them get there.
    const starts = sim.faults.hold('VM.start', { times: 0 })
    const run = rollout({ fleet, baseDir: dir, env: ENV, wave: 6 })
    expect(await until(() => starts.held === 2)).toBe(true)
    await sleep(300)
    expect(starts.held).toBe(2)
    // Then every guest's boot waits: a VM waiting for its guest makes no XAPI work and holds no slot.
    const boots = sim.faults.hold('guest.boot', { times: 0 })
    starts.release()
    expect(await until(() => boots.held === 6), `guests booting at once: ${boots.held}`).toBe(true)
    boots.release()
    const r = await run
    expect(r.ok).toBe(true)
    expect(r.waves.map((w) => [w.vms.length, w.state])).toEqual([[6, 'ready']])
    expect(r.vms.map((v) => [v.state, v.ready?.probes])).toEqual(r.vms.map(() => ['created', ['ip']]))
  })
})
