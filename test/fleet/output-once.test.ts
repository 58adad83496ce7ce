import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { rollout } from '../../src/index.js'
import { summary } from '../../src/fleet/cli/report.js'
import { bytes } from '../../src/cli/units.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import type { Simulator } from '../../mocks/simulator.js'
import { withSimulator } from '../support/simulator.js'
import { runCli } from '../support/cli.js'
import { ENV } from './support.js'

/**
 * Issue 15 item 7, "nothing printed twice": in a log (stdout and stderr are pipes) how a
 * VM ended is the summary table's row, once; the progress on stderr says only what
 * happened meanwhile (started, waiting for the guest, waves).
 */

const STATES = new Set(['created', 'updated', 'replaced', 'unchanged', 'drift', 'reconciled', 'failed', 'skipped'])

/**
 * Lines that say how `vm` ended: its name first ("web-2" or "web-2:") and a state among the
 * next three words, as a table row ("web-2  lab/xcp1  10.0.5.11  failed  312 ms") or a
 * progress line ("web-2: failed in 0.3 s") has it. A failure's detail ("web-2: Start the VM
 * failed", then why and fix) elaborates the row and is not counted.
 */
function outcomeLines(text: string, vm: string): string[] {
  return text.split('\n').filter((l) => {
    const [first, ...rest] = l.trim().split(/\s+/)
    return first?.replace(/:$/, '') === vm && rest.slice(0, 3).some((w) => STATES.has(w.replace(/[:,]$/, '')))
  })
}

let dir: string
let image: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-output-once-'))
  image = join(dir, 'hvm.img')
  // The sample HVM image carries guest tools: the simulated guest reports its address, so `wait: ip` holds.
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
  await writeFile(
    join(dir, 'hvm.yaml'),
    `name: once
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 512MiB, dynamic_min: 512MiB, dynamic_max: 512MiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
`,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

function fleet(s: Simulator, names: string): FleetInput {
  return {
    name: 'web',
    pools: { lab: { url: s.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' } },
    address_pools: { lan: { cidr: '10.0.5.0/24', gateway: '10.0.5.1', range: { start: '10.0.5.10', end: '10.0.5.40' } } },
    groups: [{ recipe: './hvm.yaml', image, pools: ['lab'], names, address_pool: 'lan', wait: 'ip=10.0.5.0/24' }],
  }
}

describe('provision rollout in a log (the built CLI, spawned, stdout and stderr piped)', () => {
  it("prints each VM's outcome once across stdout and stderr: the table's row; stderr has the transitions", async () => {
    const s = await withSimulator({ guestBootMs: 20 })
    const file = join(dir, 'fleet.yaml')
    await writeFile(file, stringify(fleet(s, 'web-{1..4}')))
    s.faults.add({ method: 'VM.start', nth: 3, error: ['BOOTLOADER_FAILED', 'x', 'injected by the test'] })

    const first = await runCli(['rollout', file, '--wave', '2'], ENV)
    expect(first.code).toBe(1)
    const states = new Map(
      first.stdout
        .split('\n')
        .slice(1, 5)
        .map((l) => l.split(/\s+/))
        .map((w) => [w[0], w[3]]),
    )
    expect([...states.values()].sort()).toEqual(['created', 'created', 'created', 'failed'])
    for (const vm of ['web-1', 'web-2', 'web-3', 'web-4']) {
      expect(outcomeLines(first.stderr, vm), `stderr of ${vm}`).toEqual([])
      expect(outcomeLines(first.stdout, vm), `stdout of ${vm}`).toHaveLength(1)
    }
    // What stderr does say: each VM started, its wait, the waves.
    for (const vm of ['web-1', 'web-2', 'web-3', 'web-4']) expect(first.stderr).toMatch(new RegExp(`^${vm}: started on lab/\\S+$`, 'm'))
    expect(first.stderr).toMatch(/^web-1: waiting for the guest$/m)
    expect(first.stderr).toContain('wave 1 (web-1 … web-2, 2 VMs): ready')
    expect(first.stderr).toContain('wave 2 (web-3 … web-4, 2 VMs): failed; later waves are not started')
    // Sizes and durations in human units (not "0.0 MiB", not "0.3 s" for 312 ms).
    expect(first.stdout).toMatch(/ {2}\d+(\.\d+)? (ms|s) {2}/)
    expect(first.stdout).toMatch(/Bases: 1 uploaded \(\d+(\.\d+)? (bytes|KiB|MiB)\), 0 re-used\./)

    // The re-run: the failed VM is made, the others unchanged; still one line each.
    const again = await runCli(['rollout', file, '--wave', '2'], ENV)
    expect(again.code).toBe(0)
    for (const vm of ['web-1', 'web-2', 'web-3', 'web-4']) expect(outcomeLines(again.stdout + again.stderr, vm), vm).toHaveLength(1)
    expect(again.stdout).toContain('4 VMs: 1 created, 3 unchanged. Bases: 0 uploaded, 1 re-used.')
  })
})

describe('the summary', () => {
  it('gives the bytes uploaded with the shared size formatter; the result (--json) keeps bytes', async () => {
    const s = await withSimulator({ guestBootMs: 20 })
    const r = await rollout({ fleet: fleet(s, 'web-{1..2}'), baseDir: dir, env: ENV })
    expect(r.ok).toBe(true)
    const sent = r.bases[0]!.bytes_sent
    expect(Number.isInteger(sent) && sent > 0).toBe(true)
    const text = summary(r)
    expect(text).toContain(`Bases: 1 uploaded (${bytes(sent)}), 0 re-used.`)
    expect(text).not.toContain('0.0 MiB')
  })
})
