import { describe } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { provisionInProcess } from '../support/in-process.js'
import { needs } from '../support/oracles.js'
import { simTest } from '../support/simulator.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { parseProbe, type Probe } from '../../src/wait/probes.js'
import type { ProvisionOptions } from '../../src/provision/types.js'
import type { CliResult } from '../support/cli.js'
import type { Simulator } from '../../mocks/simulator.js'
import { firstBootRecipe } from './first-boot-support.js'

/**
 * docs/reliability.md's fault matrix, for the steps the HVM, disk-format, config-drive
 * and --wait work added. In-process (support/in-process.ts: the CLI's rendering and exit
 * codes, the library's behaviour): these rows test what the library does about the
 * fault; the kill -9 points of the same steps, where the process matters, are in
 * kill9-first-boot.test.ts. "Objects after" also counts guest metrics: a rolled-back
 * guest leaves none.
 */
const CLASSES = ['VM', 'VDI', 'VBD', 'VIF', 'task', 'VM_guest_metrics'] as const
type Counts = Record<(typeof CLASSES)[number], number>

function counts(sim: Simulator): Counts {
  const o = sim.objects()
  const n = (cls: string): number => Object.values(o[cls] ?? {}).filter((r) => !(cls === 'VM' && (r.is_a_template || r.is_control_domain))).length
  return Object.fromEntries(CLASSES.map((c) => [c, n(c)])) as Counts
}
const delta = (a: Counts, b: Counts): Counts => Object.fromEntries(CLASSES.map((c) => [c, b[c] - a[c]])) as Counts

const NOTHING: Counts = { VM: 0, VDI: 0, VBD: 0, VIF: 0, task: 0, VM_guest_metrics: 0 }
/** An HVM VM without a drive, not waited for: no guest metrics asked for (the guest may report later). */
const ONE_VM = { VM: 1, VDI: 1, VBD: 1, VIF: 1, task: 0 }
/** The VM, its boot disk and its config drive, ready: the guest reported once. */
const ONE_VM_WITH_DRIVE: Counts = { VM: 1, VDI: 2, VBD: 2, VIF: 1, task: 0, VM_guest_metrics: 1 }

let fixtures: Promise<{ dir: string; uefi: string; bios: string }> | undefined
const images = (): Promise<{ dir: string; uefi: string; bios: string }> =>
  (fixtures ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'matrix-first-boot-'))
    await writeSampleHvmImage(join(dir, 'uefi.img'), { firmware: 'uefi', diskSize: SMALL_HVM })
    await writeSampleHvmImage(join(dir, 'bios.img'), { firmware: 'bios', diskSize: SMALL_HVM })
    return { dir, uefi: join(dir, 'uefi.img'), bios: join(dir, 'bios.img') }
  })())

const probes = (...t: string[]): Probe[] => t.map((s) => parseProbe(s) as Probe)
const READY = probes('vm-data:ready=yes', 'ip')

type Extra = Partial<Omit<ProvisionOptions, 'recipe' | 'url' | 'user' | 'password' | 'image' | 'onEvent'>>

async function inProcess(sim: Simulator, a: { recipe: string; image: string; json?: boolean; extra?: Extra }): Promise<{ r: CliResult; objects: Counts }> {
  const before = counts(sim)
  const r = await provisionInProcess({ recipe: a.recipe, url: sim.url, ...sim.credentials, image: a.image, json: Boolean(a.json), ...(a.extra ? { extra: a.extra } : {}) })
  return { r, objects: delta(before, counts(sim)) }
}

const HVM = { profile: 'xcp-ng-8.3' }
const withoutMetrics = (c: Counts): Omit<Counts, 'VM_guest_metrics'> => ({ VM: c.VM, VDI: c.VDI, VBD: c.VBD, VIF: c.VIF, task: c.task })

describe.concurrent('fault matrix: HVM boot', () => {
  simTest('freebsd-14 (UEFI): connection reset at 50% of the upload: the segment is retried, exit 0', async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    const { uefi } = await images()
    sim.faults.add({ upload: 'cut', afterBytes: 1024 * 1024 })
    const { r, objects } = await inProcess(sim, { recipe: 'freebsd-14', image: uefi })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/retrying/)
    expect(withoutMetrics(objects)).toEqual(ONE_VM)
  })

  simTest('freebsd-13 (BIOS): XAPI fails the HVM boot policy: rolled back, exit 1, nothing left', async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    const { bios } = await images()
    sim.faults.add({ method: 'VM.set_HVM_boot_policy', error: ['INTERNAL_ERROR', 'injected'] })
    const { r, objects } = await inProcess(sim, { recipe: 'freebsd-13', image: bios })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('INTERNAL_ERROR')
    expect(r.stderr).toContain('removed what this run created')
    expect(objects).toEqual(NOTHING)
  })
})

describe.concurrent('fault matrix: the cloud-init config drive', () => {
  simTest("HTTP 500 on the drive's upload: retried, exit 0, the VM with its drive", async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    // The boot disk's upload is the first PUT with data; the drive's the second.
    sim.faults.add({ upload: 'http500', nth: 2 })
    const { r, objects } = await inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi, extra: { wait: { probes: READY, timeoutMs: 20_000 } } })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/HTTP 500.*retrying|retrying/)
    expect(objects).toEqual(ONE_VM_WITH_DRIVE)
  })

  simTest("SR full when the drive's VDI is created: rolled back, exit 1, nothing left (boot disk included)", async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    sim.faults.add({ method: 'VDI.create', nth: 2, error: ['SR_BACKEND_FAILURE_44', '', 'There is insufficient space', ''] })
    const { r, objects } = await inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('removed what this run created')
    expect(objects).toEqual(NOTHING)
  })

  simTest("the drive's VBD.create fails: rolled back, exit 1, the uploaded drive removed too", async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    sim.faults.add({ method: 'VBD.create', nth: 2, error: ['INTERNAL_ERROR', 'injected'] })
    const { r, objects } = await inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/removed what this run created: .*FreeBSD-14-cidata/)
    expect(objects).toEqual(NOTHING)
  })
})

describe.concurrent('fault matrix: --wait', () => {
  simTest('the guest never writes the key waited for: diagnosis at the timeout, exit 1, everything removed (drive and guest metrics included)', async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    const { r, objects } = await inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi, extra: { wait: { probes: probes('vm-data:never'), timeoutMs: 1_500 } } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('The guest did not become ready (vm-data:never) within --wait-timeout')
    expect(r.stderr).toContain("vm-data/never is not in the VM's xenstore data")
    expect(objects).toEqual(NOTHING)
  })

  simTest('the guest crashes while booting (no agent ever): diagnosed after the grace period, exit 1, nothing left', async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    sim.faults.add({ method: 'guest.boot', error: ['CRASHED'] })
    const t0 = Date.now()
    const { r, objects } = await inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi, extra: { wait: { probes: READY, timeoutMs: 60_000, agentGraceMs: 1_000 } } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no guest agent reported')
    expect(r.stderr).toContain('without waiting out --wait-timeout')
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(objects).toEqual(NOTHING)
  })

  simTest('every session expires during the wait: event.from logs in again, ready, exit 0', async ({ newSim, expect }) => {
    const sim = await newSim(HVM)
    // Held: the run is in its wait while the sessions expire.
    const hold = sim.faults.hold('guest.boot', { maxMs: 30_000 })
    const run = inProcess(sim, { recipe: await firstBootRecipe(), image: (await images()).uefi, json: true, extra: { wait: { probes: READY, timeoutMs: 30_000 } } })
    await Promise.race([hold.reached, run])
    const logins = sim.calls().filter((m) => m === 'session.login_with_password').length
    sim.faults.expireSessions()
    hold.release()
    const { r, objects } = await run
    expect(r.code, r.stderr).toBe(0)
    expect(sim.calls().filter((m) => m === 'session.login_with_password').length).toBeGreaterThan(logins)
    expect(JSON.parse(r.stdout)).toMatchObject({ ready_probes: ['vm-data:ready=yes', 'ip'] })
    expect(objects).toEqual(ONE_VM_WITH_DRIVE)
  })
})

const formats = needs('qemu-img', 'xz')

// withSimulator (no per-test fixture in a needs() test): one after another, after the concurrent rows.
describe('fault matrix: disk formats', () => {
  formats.it(
    'qcow2: connection reset mid-upload: retried from the segment, exit 0, the VDI equals qemu-img convert -O raw',
    async ({ expect }) => {
      const { withSimulator } = await import('../support/simulator.js')
      const sim = await withSimulator(HVM)
      const { dir, uefi } = await images()
      const qcow2 = join(dir, 'cut.qcow2')
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', uefi, qcow2])
      sim.faults.add({ upload: 'cut', afterBytes: 512 * 1024 })
      const { r, objects } = await inProcess(sim, { recipe: 'freebsd-14', image: qcow2 })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/retrying/)
      expect(withoutMetrics(objects)).toEqual(ONE_VM)
      execFileSync('qemu-img', ['convert', '-O', 'raw', qcow2, join(dir, 'cut.raw')])
      const want = await readFile(join(dir, 'cut.raw'))
      const vdi = Object.entries(sim.objects().VDI!).find(([, v]) => v.name_label === 'FreeBSD-14-vdi')![0]
      expect(sim.readVdi(vdi, 0, want.length).equals(want)).toBe(true)
    },
    60_000,
  )

  formats.it(
    'qcow2.xz: HTTP 500 on the upload: retried from the spool, exit 0',
    async ({ expect }) => {
      const { withSimulator } = await import('../support/simulator.js')
      const sim = await withSimulator(HVM)
      const { dir, uefi } = await images()
      const qcow2 = join(dir, 'http500.qcow2')
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', uefi, qcow2])
      execFileSync('xz', ['-1', '-f', qcow2])
      sim.faults.add({ upload: 'http500' })
      const { r, objects } = await inProcess(sim, { recipe: 'freebsd-14', image: `${qcow2}.xz` })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/HTTP 500.*retrying|retrying/)
      expect(withoutMetrics(objects)).toEqual(ONE_VM)
    },
    60_000,
  )
})
