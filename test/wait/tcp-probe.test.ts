import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { provision } from '../../src/provision/run.js'
import { parseProbe, type Probe } from '../../src/wait/probes.js'
import { writeSampleHvmImage } from '../../src/image/write-image.js'
import { SMALL_HVM } from '../support/sample-images.js'
import { UserError } from '../../src/errors.js'
import type { ProvisionResult } from '../../src/provision/types.js'
import type { Simulator } from '../../mocks/simulator.js'

/**
 * --wait tcp:<port> end to end. The simulated guest has no TCP stack, so the test makes
 * its address a loopback one (a static 127.0.0.1/8 from the config drive's network
 * config, which the guest reports through VM_guest_metrics like any other) and opens
 * the listener itself on that address: the probe then connects to a real socket at the
 * address XAPI reported, as it would to the guest's sshd. Nothing in the wait knows.
 */
let dir: string
let image: string
let recipeFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tcp-probe-'))
  image = join(dir, 'hvm.img')
  await writeSampleHvmImage(image, { firmware: 'uefi', diskSize: SMALL_HVM })
  recipeFile = join(dir, 'r.yaml')
  await writeFile(
    recipeFile,
    `name: tcp
vdi: { virtual_size: 512MiB }
memory: { static_min: 256MiB, static_max: 1GiB, dynamic_min: 1GiB, dynamic_max: 1GiB }
boot: { mode: hvm, firmware: uefi, secure_boot: false, order: c }
cloud_init:
  network_config:
    version: 2
    ethernets:
      eth0: { addresses: ["127.0.0.1/8"] }
`,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const listen = (port = 0): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer((sock) => sock.destroy())
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
const portOf = (s: Server): number => (s.address() as { port: number }).port
const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()))

async function run(port: number, timeoutMs: number, sim?: Simulator): Promise<ProvisionResult> {
  sim ??= await withSimulator()
  const { recipe } = await loadRecipe(recipeFile)
  return (await provision({ recipe, image, url: sim.url, ...sim.credentials, wait: { probes: [parseProbe(`tcp:${port}`) as Probe], timeoutMs } })) as ProvisionResult
}

describe('--wait tcp:<port> against a real listener at the address the guest reported', () => {
  it('an open port: ready, with the address and the probe in the result', async () => {
    const server = await listen()
    try {
      const r = await run(portOf(server), 20_000)
      expect(r.ips).toEqual(['127.0.0.1'])
      expect(r.ready_probes).toEqual([`tcp:${portOf(server)}`])
    } finally {
      await close(server)
    }
  })

  it('a port that opens late (no event announces it): tried again until it accepts', async () => {
    // A free port, closed now, opened 2 s into the run: after the guest has reported its address.
    const probe = await listen()
    const port = portOf(probe)
    await close(probe)
    let server: Server | undefined
    // When the port really opened: a timer measured with Date.now() can seem to fire a
    // millisecond early (libuv starts it from the loop's cached time). Another process's
    // outgoing connection may hold the freed port for a moment: tried again for up to 5 s;
    // any other failure fails the test instead of going unhandled.
    let openedAt = Infinity
    let openError: unknown
    const open = async (): Promise<Server> => {
      for (let tries = 0; ; tries++) {
        try {
          return await listen(port)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 100) throw e
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    const opener = setTimeout(
      () =>
        void open().then(
          (s) => ((server = s), (openedAt = Date.now())),
          (e: unknown) => (openError = e),
        ),
      2_000,
    )
    try {
      const r = await run(port, 20_000)
      expect(openError).toBeUndefined()
      expect(r.ready_probes).toEqual([`tcp:${port}`])
      // Ready only once the port accepted: tried again after the refusals, not taken for open.
      expect(Date.now()).toBeGreaterThanOrEqual(openedAt)
    } finally {
      clearTimeout(opener)
      if (server) await close(server)
    }
  })

  it('a closed port: the diagnosis names the address, the port and the refusal; the run is rolled back', async () => {
    const probe = await listen()
    const port = portOf(probe)
    await close(probe)
    const sim = await withSimulator()
    const e = await run(port, 2_500, sim).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(UserError)
    expect((e as UserError).info.why).toBe(`127.0.0.1:${port} does not accept connections (ECONNREFUSED)`)
    expect((e as UserError).info.fix).toContain(`port ${port}`)
    expect(Object.values(sim.objects().VM!).filter((v) => String(v.name_label).startsWith('tcp'))).toEqual([])
    expect(Object.values(sim.objects().VDI ?? {}).filter((v) => String(v.name_label).startsWith('tcp'))).toEqual([])
  })
})
