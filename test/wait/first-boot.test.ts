import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { provision } from '../../src/provision/run.js'
import { parseProbe, type Probe } from '../../src/wait/probes.js'
import { writeSampleHvmImage, writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { openFat } from '../../src/image/fat.js'
import { UserError } from '../../src/errors.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { ProvisionEvent, ProvisionResult } from '../../src/provision/types.js'

let dir: string
let hvmImage: string
let bareImage: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'first-boot-'))
  hvmImage = join(dir, 'hvm.img')
  await writeSampleHvmImage(hvmImage, { firmware: 'uefi', diskSize: SMALL_HVM })
  bareImage = join(dir, 'bare.img')
  // The HOWTO's PV image: the UEFI firmware finds nothing to boot on it.
  await writeSampleImage(bareImage)
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const RECIPE = (cloudInit: string): string => `name: fb
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 1GiB, dynamic_min: 1GiB, dynamic_max: 1GiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
${cloudInit}`

const probes = (...texts: string[]): Probe[] => texts.map((t) => parseProbe(t) as Probe)

async function run(
  sim: Simulator,
  recipeText: string,
  o: { image?: string; wait: string[]; timeoutMs?: number; name?: string; skipPreflight?: boolean; onWaitStart?: () => void },
): Promise<ProvisionResult> {
  const file = join(dir, `r-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(file, recipeText)
  const { recipe } = await loadRecipe(file)
  return (await provision({
    recipe,
    image: o.image ?? hvmImage,
    url: sim.url,
    ...sim.credentials,
    ...(o.name ? { name: o.name } : {}),
    wait: { probes: probes(...o.wait), timeoutMs: o.timeoutMs ?? 20_000 },
    bootConsole: (vm) => sim.console(vm).at(-1),
    ...(o.skipPreflight ? { skipPreflight: true } : {}),
    ...(o.onWaitStart ? { onEvent: (e: ProvisionEvent) => void (e.type === 'step' && e.step === 'wait' && o.onWaitStart!()) } : {}),
  })) as ProvisionResult
}

const STATIC = RECIPE(`cloud_init:
  user_data: |
    #cloud-config
    runcmd:
      - xenstore-write vm-data/ready "yes"
  network_config:
    version: 2
    ethernets:
      eth0:
        addresses: ["192.168.50.1{index}/24"]
`)

describe('first boot on the simulator', () => {
  it('a static address from network_config comes back through --wait ip=CIDR, and vm-data from runcmd', async () => {
    const sim = await withSimulator()
    const r = await run(sim, STATIC, { wait: ['ip=192.168.50.0/24', 'vm-data:ready=yes'] })
    expect(r.ips).toEqual(['192.168.50.10'])
    expect(r.ready_probes).toEqual(['ip=192.168.50.0/24', 'vm-data:ready=yes'])
    expect(r.ready_after_ms).toBeGreaterThanOrEqual(0)
    // The contract: a VDI whose FAT label is cidata and whose user-data is the recipe's.
    const objects = sim.objects()
    const drive = Object.entries(objects.VDI!).find(([, v]) => v.name_label === 'fb-cidata')!
    const bytes = sim.readVdi(drive[0])
    const fat = openFat((o, n) => bytes.subarray(o, o + n), bytes.length)
    expect(bytes.toString('latin1', 43, 54)).toBe('cidata     ')
    expect(fat.readFile('/user-data').data.toString()).toContain('xenstore-write vm-data/ready')
    expect(fat.readFile('/meta-data').data.toString()).toContain(`instance-id: ${r.vm.uuid}`)
    const vbd = Object.values(objects.VBD!).find((b) => b.VDI === drive[0])!
    expect([vbd.type, vbd.userdevice, vbd.bootable]).toEqual(['Disk', '1', false])
    // Every key xapi's guest agent code writes, with its exact name.
    const gm = Object.values(objects.VM_guest_metrics!)[0]!
    expect(gm.networks).toMatchObject({ '0/ip': '192.168.50.10', '0/ipv4/0': '192.168.50.10' })
    expect(Object.keys(gm.os_version as object)).toContain('name')
    expect(Object.keys(gm.PV_drivers_version as object)).toEqual(['major', 'minor', 'micro', 'build'])
  })

  it("without network_config the guest leases from the network's DHCP range", async () => {
    const sim = await withSimulator()
    const r = await run(sim, RECIPE('cloud_init: {}\n'), { wait: ['ip=10.0.0.0/24'] })
    expect(r.ips).toEqual(['10.0.0.100'])
  })

  it('a NoCloud drive without network-config is still read: runcmd reaches vm-data, the address comes from DHCP', async () => {
    // The guest's seed reader took a missing optional file for an unreadable drive and ignored the user data.
    const sim = await withSimulator()
    const r = await run(sim, RECIPE('cloud_init:\n  user_data: |\n    #cloud-config\n    runcmd:\n      - xenstore-write vm-data/ready yes\n'), { wait: ['vm-data:ready=yes', 'ip'] })
    expect(r.ready_probes).toEqual(['vm-data:ready=yes', 'ip'])
    expect(r.ips).toEqual(['10.0.0.100'])
  })

  it('remove_after: ready detaches and destroys the drive once ready', async () => {
    const sim = await withSimulator()
    await run(sim, RECIPE('cloud_init: { remove_after: ready }\n'), { wait: ['agent'] })
    expect(Object.values(sim.objects().VDI!).map((v) => v.name_label)).not.toContain('fb-cidata')
  })

  it('a disk the firmware cannot boot: said at once, not at the timeout, and the run is rolled back', async () => {
    const sim = await withSimulator()
    // Timed from the wait's start: the steps before it (the upload…) can take seconds on a loaded machine.
    let t0 = Infinity
    const e = await run(sim, STATIC, { image: bareImage, wait: ['ip'], timeoutMs: 15_000, skipPreflight: true, onWaitStart: () => (t0 = Date.now()) }).catch((x: unknown) => x)
    const elapsed = Date.now() - t0
    expect(e).toBeInstanceOf(UserError)
    const info = (e as UserError).info
    // The UEFI firmware found nothing on an MBR/UFS1 disk: said at once, not after 15 s.
    expect(info.why).toMatch(/firmware found nothing to boot/)
    expect(t0, 'the wait started').toBeLessThan(Infinity)
    expect(elapsed).toBeLessThan(8_000)
    expect(Object.values(sim.objects().VM!).filter((v) => String(v.name_label).startsWith('fb'))).toEqual([])
    expect(Object.values(sim.objects().VDI ?? {}).filter((v) => String(v.name_label).startsWith('fb'))).toEqual([])
    expect(info.kept).toEqual([])
  })

  it('no agent ever reported: diagnosed after the grace period, not at the timeout', async () => {
    const sim = await withSimulator()
    // A booting guest whose agent never starts: its boot stalls (a hold on the guest.boot pseudo-call).
    const hold = sim.faults.hold('guest.boot', { maxMs: 30_000 })
    // Timed from the wait's start: the grace period is a third of the timeout (3 s), the timeout 9 s.
    let t0 = Infinity
    const e = await run(sim, STATIC, { wait: ['ip'], timeoutMs: 9_000, onWaitStart: () => (t0 = Date.now()) }).catch((x: unknown) => x)
    hold.release()
    expect((e as UserError).info.why).toMatch(/no guest agent reported/)
    expect(t0, 'the wait started').toBeLessThan(Infinity)
    expect(Date.now() - t0).toBeLessThan(7_000)
  })

  it('an address outside the CIDR is named in the diagnosis', async () => {
    const sim = await withSimulator()
    const e = await run(sim, STATIC, { wait: ['ip=172.16.0.0/12'], timeoutMs: 2_500 }).catch((x: unknown) => x)
    expect((e as UserError).info.why).toBe('VIF 0 has 192.168.50.10, none in 172.16.0.0/12')
  })
})
