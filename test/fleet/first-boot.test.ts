import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rollout, RolloutResult, type RolloutEvent } from '../../src/index.js'
import type { FleetInput } from '../../src/fleet/schema.js'
import { TAG } from '../../src/fleet/inventory.js'
import { ADDRESS_KEY } from '../../src/fleet/address-pool.js'
import { UserError } from '../../src/errors.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import type { Simulator } from '../../mocks/simulator.js'
import { withSimulator } from '../support/simulator.js'
import { ENV, isReadOnly } from './support.js'
import { stringify } from 'yaml'
import { BIN, runCli, runDirs } from '../support/cli.js'
import { spawn } from 'node:child_process'

let dir: string
let image: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-first-boot-'))
  // The sample HVM image carries guest tools: the simulated guest reports its addresses.
  image = join(dir, 'hvm.img')
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
  await writeFile(
    join(dir, 'hvm.yaml'),
    `name: fb
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 512MiB, dynamic_min: 512MiB, dynamic_max: 512MiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
`,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

type Rec = Record<string, unknown> & { other_config: Record<string, string> }
const records = (sim: Simulator, cls: string): [string, Rec][] => Object.entries(sim.objects()[cls] ?? {}) as [string, Rec][]
const fleetVms = (sim: Simulator, fleet = 'web'): [string, Rec][] => records(sim, 'VM').filter(([, v]) => !v.is_a_template && v.other_config[TAG.fleet] === fleet && v.other_config[TAG.vm])
/** What the guest agent of a VM reports on VIF 0, read from the simulator's own objects. */
const reported = (sim: Simulator, vm: Rec): string | undefined => {
  const gm = (sim.objects().VM_guest_metrics ?? {})[String(vm.guest_metrics)] as { networks?: Record<string, string> } | undefined
  return gm?.networks?.['0/ip']
}

const sim = (): Promise<Simulator> => withSimulator({ guestBootMs: 20 })

function fleet(s: Simulator, groups: Partial<FleetInput['groups'][number]>[], extra: Partial<FleetInput> = {}, name = 'web'): FleetInput {
  return {
    name,
    pools: { lab: { url: s.url, user_env: 'SIM_USER', password_env: 'SIM_PASSWORD' } },
    address_pools: { lan: { cidr: '10.0.5.0/24', gateway: '10.0.5.1', range: { start: '10.0.5.10', end: '10.0.5.40' }, dns: ['10.0.5.1'] } },
    ...extra,
    groups: groups.map((g) => ({ recipe: './hvm.yaml', image, pools: ['lab'], names: 'web-{01..02}', ...g })),
  }
}

describe('rollout: address pools, waits and waves', () => {
  it('20 VMs over two groups sharing a pool get 20 distinct addresses, made 5 at a time, each wave once the last was ready; a re-run keeps them', async () => {
    const s = await sim()
    const f = fleet(s, [
      { names: 'web-{01..10}', address_pool: 'lan', wait: { probes: ['ip=10.0.5.0/24'], timeout: 30 } },
      { names: 'api-{01..10}', address_pool: 'lan', wait: 'ip=10.0.5.0/24' },
    ])
    const plan = await rollout({ fleet: f, baseDir: dir, env: ENV, dryRun: true, wave: 5 })
    expect(plan.vms.map((v) => v.wave)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4])
    expect(plan.vms.map((v) => v.address)).toEqual(Array.from({ length: 20 }, (_, i) => `10.0.5.${10 + i}`))
    expect(plan.waves.map((w) => w.state)).toEqual(['planned', 'planned', 'planned', 'planned'])

    // At each wave's start, read the simulator itself: the earlier waves' guests have reported their addresses, no later VM exists.
    const atStart: { wave: number; vms: number; reporting: number }[] = []
    const onEvent = (e: RolloutEvent): void => {
      if (e.type !== 'wave' || e.phase !== 'start') return
      const vms = fleetVms(s)
      atStart.push({ wave: e.wave, vms: vms.length, reporting: vms.filter(([, v]) => reported(s, v)?.startsWith('10.0.5.')).length })
    }
    const r = await rollout({ fleet: f, baseDir: dir, env: ENV, wave: 5, onEvent })
    expect(RolloutResult.parse(r)).toEqual(r)
    expect(r.ok).toBe(true)
    expect(atStart).toEqual([0, 1, 2, 3].map((k) => ({ wave: k + 1, vms: 5 * k, reporting: 5 * k })))
    expect(r.waves.map((w) => w.state)).toEqual(['ready', 'ready', 'ready', 'ready'])
    // The address each guest reports (through --wait's ips and the simulator's guest metrics) is the one planned and recorded.
    const ips = r.vms.map((v) => v.ready?.ips[0])
    expect(new Set(ips).size).toBe(20)
    expect(ips).toEqual(plan.vms.map((v) => v.address))
    for (const [, vm] of fleetVms(s)) {
      const mine = r.vms.find((v) => v.name === vm.name_label)!
      expect(vm.other_config[ADDRESS_KEY]).toBe(mine.address)
      expect(reported(s, vm)).toBe(mine.address)
    }

    const before = s.calls().length
    const again = await rollout({ fleet: f, baseDir: dir, env: ENV, wave: 5 })
    expect(again.vms.map((v) => v.state)).toEqual(Array(20).fill('unchanged'))
    expect(again.vms.map((v) => v.address)).toEqual(r.vms.map((v) => v.address))
    expect(again.waves).toEqual([])
    expect(
      s
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
  })

  it('a failing wave stops the rollout: its VMs are rolled back, later waves are not made, the result names the wave', async () => {
    const s = await sim()
    const f = fleet(s, [
      { names: 'ok-{1..2}', address_pool: 'lan', wait: 'ip=10.0.5.0/24' },
      // Never satisfied: the guests take addresses from 10.0.5.0/24.
      { names: 'bad-{1..4}', address_pool: 'lan', wait: { probes: 'ip=192.168.99.0/24', timeout: 1 } },
    ])
    const r = await rollout({ fleet: f, baseDir: dir, env: ENV, wave: 2, canary: true })
    expect(r.ok).toBe(false)
    expect(r.waves.map((w) => [w.wave, w.vms, w.state])).toEqual([
      [1, ['ok-1'], 'ready'],
      [2, ['ok-2', 'bad-1'], 'failed'],
      [3, ['bad-2', 'bad-3'], 'skipped'],
      [4, ['bad-4'], 'skipped'],
    ])
    expect(r.failed_wave).toBe(2)
    expect(r.waves[1]!.error!.why).toMatch(/bad-1: .*did not become ready.*none in 192\.168\.99\.0\/24/)
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'created', 'failed', 'skipped', 'skipped', 'skipped'])
    expect(r.vms[3]!.error!.what).toMatch(/wave 2 failed/)
    // Waves 1 and 2's good VMs stay; bad-1 was rolled back with its drive; nothing of waves 3 and 4 was made.
    expect(
      fleetVms(s)
        .map(([, v]) => v.name_label)
        .sort(),
    ).toEqual(['ok-1', 'ok-2'])
    expect(records(s, 'VDI').filter(([, v]) => String(v.name_label).startsWith('bad-'))).toEqual([])
  })

  it('refuses a pool too small before any change: by size at load, and counting addresses other fleets hold once the pool is read', async () => {
    const s = await sim()
    const small = { cidr: '10.0.5.0/24', range: { start: '10.0.5.10', end: '10.0.5.15' } }
    const tooMany = fleet(s, [{ names: 'web-{1..7}', address_pool: 'lan' }], { address_pools: { lan: small } })
    const err = await rollout({ fleet: tooMany, baseDir: dir, env: ENV }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).code).toBe('address-pool-exhausted')
    expect((err as UserError).info.what).toMatch(/address_pools\.lan has 6 addresses for 7 VMs/)
    expect((err as UserError).info.exitCode).toBe(3)
    expect(s.calls()).toEqual([])

    // Another fleet on the same subnet takes four of the six.
    expect((await rollout({ fleet: fleet(s, [{ names: 'db-{1..4}', address_pool: 'lan' }], { address_pools: { lan: small } }, 'db'), baseDir: dir, env: ENV })).ok).toBe(true)
    const before = s.calls().length
    const three = fleet(s, [{ names: 'web-{1..3}', address_pool: { cidr: '10.0.5.0/24', range: { start: '10.0.5.10', end: '10.0.5.15' } } }])
    const err2 = await rollout({ fleet: three, baseDir: dir, env: ENV }).catch((e: unknown) => e)
    expect((err2 as UserError).code).toBe('address-pool-exhausted')
    expect((err2 as UserError).info.what).toMatch(/groups\.0\.address_pool has no free address for 1 more VM/)
    expect((err2 as UserError).info.why).toMatch(/4 by other VMs \(10\.0\.5\.10 by VM "db-1"/)
    expect(
      s
        .calls()
        .slice(before)
        .filter((m) => !isReadOnly(m)),
    ).toEqual([])
  })
})

describe('provision rollout --wave --canary (the built CLI, spawned)', () => {
  it('--dry-run --json shows the address and wave of each VM; a bad --wave is a usage error', async () => {
    const s = await sim()
    const file = join(dir, 'waves.yaml')
    await writeFile(file, stringify(fleet(s, [{ names: 'web-{1..5}', address_pool: 'lan', wait: 'ip' }])))
    const dry = await runCli(['rollout', file, '--dry-run', '--json', '--canary', '--wave', '2'], ENV)
    expect(dry.code).toBe(0)
    const r = RolloutResult.parse(JSON.parse(dry.stdout))
    expect(r.vms.map((v) => [v.name, v.address, v.wave])).toEqual([
      ['web-1', '10.0.5.10', 1],
      ['web-2', '10.0.5.11', 2],
      ['web-3', '10.0.5.12', 2],
      ['web-4', '10.0.5.13', 3],
      ['web-5', '10.0.5.14', 3],
    ])
    expect(s.calls().filter((m) => !isReadOnly(m))).toEqual([])
    const text = await runCli(['rollout', file, '--dry-run', '--wave', '2'], ENV)
    expect(text.stdout).toMatch(/\+ web-3 +create on lab\/\S+, SR "Local storage" on \S+, MAC [0-9a-f:]+, address 10\.0\.5\.12, wave 2/)
    const bad = await runCli(['rollout', file, '--wave', '0'], ENV)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--wave 0 is not a positive whole number')
  })
})

describe("provision rollout killed with -9 during a wave's wait, then run again", () => {
  it('removes the unfinished VM with its disk and config drive, gives its name the same address back, and goes on', async () => {
    const s = await sim()
    const file = join(dir, 'kill.yaml')
    await writeFile(file, stringify(fleet(s, [{ names: 'web-{1..3}', address_pool: 'lan', wait: 'ip=10.0.5.0/24' }])))
    // The second guest's boot is held: the rollout is in wave 2's wait when it dies.
    const boot = s.faults.hold('guest.boot', { nth: 2 })
    const child = spawn(process.execPath, [BIN, 'rollout', file, '--wave', '1'], { env: { PATH: process.env.PATH ?? '', ...runDirs(), ...ENV }, stdio: 'ignore' })
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
    await boot.reached
    child.kill('SIGKILL')
    await closed
    // The guest boots after the client died: its agent reports the address the dead run gave it.
    boot.release()
    const unfinished = (): [string, Rec][] => records(s, 'VM').filter(([, v]) => String(v.name_label).endsWith('[xcp-provision: incomplete]'))
    expect(unfinished().map(([, v]) => v.other_config[ADDRESS_KEY])).toEqual(['10.0.5.11'])
    expect(records(s, 'VDI').filter(([, v]) => v.name_label === 'web-2-cidata')).toHaveLength(1)

    // Meanwhile the file gained web-0, first in file order: it must not take web-2's address.
    await writeFile(file, stringify(fleet(s, [{ names: 'web-{0..3}', address_pool: 'lan', wait: 'ip=10.0.5.0/24' }])))
    const r = await rollout({ fleet: file, env: ENV, wave: 1 })
    expect(r.ok).toBe(true)
    expect(r.vms.map((v) => [v.name, v.state, v.address])).toEqual([
      ['web-0', 'created', '10.0.5.12'],
      ['web-1', 'unchanged', '10.0.5.10'],
      ['web-2', 'created', '10.0.5.11'],
      ['web-3', 'created', '10.0.5.13'],
    ])
    expect(r.vms[2]!.leftovers.join('\n')).toMatch(/web-2-cidata/)
    expect(r.vms.map((v) => v.ready?.ips ?? null)).toEqual([['10.0.5.12'], null, ['10.0.5.11'], ['10.0.5.13']])
    expect(unfinished()).toEqual([])
    // One finished drive per VM, none left marked incomplete.
    const drives = records(s, 'VDI').filter(([, v]) => v.other_config['xcp-provision:config-drive'])
    expect(drives.map(([, v]) => v.name_label).sort()).toEqual(['web-0-cidata', 'web-1-cidata', 'web-2-cidata', 'web-3-cidata'])
    expect(drives.filter(([, v]) => v.other_config['xcp-provision:incomplete'])).toEqual([])
  })
})
