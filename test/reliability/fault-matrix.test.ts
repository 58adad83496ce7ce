import { describe, expect, it } from 'vitest'
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli, type CliResult } from '../support/cli.js'
import { provisionInProcess } from '../support/in-process.js'
import { simTest, withSimulator } from '../support/simulator.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_KERNEL, SMALL_PV } from '../support/sample-images.js'
import { deriveMac } from '../../src/select/mac.js'
import { loadInventoryFile } from '../../mocks/inventory-file.js'
import { startInventory } from '../../mocks/pools.js'
import type { Simulator } from '../../mocks/simulator.js'

/**
 * docs/reliability.md's fault matrix: one test per row. Each row checks the exit code,
 * the message, and the simulator's objects afterwards: a failed run leaves nothing, a
 * recovered run leaves exactly one VM with one VDI, VBD and VIF, and no task.
 *
 * Rows that test what the library does run it in-process (support/in-process.ts: the
 * CLI's own rendering and exit codes, the upload retry back-off shortened) and run
 * concurrently; each kind of behaviour (upload retry, re-login, pool master, rollback,
 * a bad image) keeps one row that spawns the real CLI with its real back-off.
 */
const CLASSES = ['VM', 'VDI', 'VBD', 'VIF', 'task'] as const
type Counts = Record<(typeof CLASSES)[number], number>

function counts(sim: Simulator): Counts {
  const o = sim.objects()
  const n = (cls: string): number => Object.values(o[cls] ?? {}).filter((r) => !(cls === 'VM' && (r.is_a_template || r.is_control_domain))).length
  return Object.fromEntries(CLASSES.map((c) => [c, n(c)])) as Counts
}

const NOTHING: Counts = { VM: 0, VDI: 0, VBD: 0, VIF: 0, task: 0 }
const ONE_VM: Counts = { VM: 1, VDI: 1, VBD: 1, VIF: 1, task: 0 }

function delta(a: Counts, b: Counts): Counts {
  return Object.fromEntries(CLASSES.map((c) => [c, b[c] - a[c]])) as Counts
}

const env = (sim: Simulator): Record<string, string> => ({ XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password })

/**
 * The sample image, built once per file for each partition offset: no row writes to it,
 * and each build cost a pseudo-random kernel. The kernel is only carried (uploaded, its
 * ELF header read by the preflight and pygrub), so it is SMALL_KERNEL.
 */
const images = new Map<number, Promise<string>>()
function image(opts?: { partitionOffsetSectors?: 0 | 16 }): Promise<string> {
  const offset = opts?.partitionOffsetSectors ?? 0
  let p = images.get(offset)
  if (!p) {
    p = (async () => {
      const file = join(await mkdtemp(join(tmpdir(), 'matrix-')), 'img')
      await writeSampleImage(file, { diskSize: SMALL_PV, kernelSize: SMALL_KERNEL, ...opts })
      return file
    })()
    images.set(offset, p)
  }
  return p
}

/** freebsd-9.yaml with some lines replaced. */
async function recipe(replace: [RegExp, string][]): Promise<string> {
  let text = await readFile(fileURLToPath(new URL('../../recipes/freebsd-9.yaml', import.meta.url)), 'utf8')
  for (const [re, s] of replace) text = text.replace(re, s)
  const dir = await mkdtemp(join(tmpdir(), 'recipe-'))
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'r.yaml')
  await writeFile(file, text)
  return file
}

type Args = { recipe?: string; image: string; name?: string; json?: boolean; skipPreflight?: boolean }

/** The provision command in-process, with the objects it left on `sim`. */
async function inProcess(sim: Simulator, a: Args): Promise<{ r: CliResult; objects: Counts }> {
  const before = counts(sim)
  const r = await provisionInProcess({
    recipe: a.recipe ?? 'freebsd-9',
    url: sim.url,
    ...sim.credentials,
    image: a.image,
    ...(a.name ? { name: a.name } : {}),
    json: Boolean(a.json),
    extra: { skipPreflight: Boolean(a.skipPreflight) },
  })
  return { r, objects: delta(before, counts(sim)) }
}

/** The same through the spawned CLI. */
async function spawned(sim: Simulator, args: string[], host = sim.url): Promise<{ r: CliResult; objects: Counts }> {
  const before = counts(sim)
  const r = await runCli(['--host', host, ...args], env(sim))
  return { r, objects: delta(before, counts(sim)) }
}

async function bodyBytes(sim: Simulator, img: string): Promise<number> {
  const r = await provisionInProcess({ recipe: 'freebsd-9', url: sim.url, ...sim.credentials, image: img, name: 'probe', json: true, extra: { dryRun: true } })
  return (JSON.parse(r.stdout) as { upload: { bytes_to_send: number } }).upload.bytes_to_send
}

const poolFile = (): string => fileURLToPath(new URL('../../docs/examples/pool.yaml', import.meta.url))

describe.concurrent("fault matrix, in-process (the library, the CLI's rendering and exit codes)", () => {
  for (const pct of [10, 90]) {
    simTest(`connection reset at ${pct}% of the upload: the segment is retried, exit 0`, async ({ newSim, expect }) => {
      const sim = await newSim()
      const img = await image()
      sim.faults.add({ upload: 'cut', afterBytes: Math.floor(((await bodyBytes(sim, img)) * pct) / 100) })
      const { r, objects } = await inProcess(sim, { image: img })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/retrying/)
      expect(objects).toEqual(ONE_VM)
    })
  }

  simTest('HTTP 500 on the upload: retried, exit 0', async ({ newSim, expect }) => {
    const sim = await newSim()
    sim.faults.add({ upload: 'http500' })
    const { r, objects } = await inProcess(sim, { image: await image() })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/HTTP 500.*retrying|retrying/)
    expect(objects).toEqual(ONE_VM)
  })

  simTest('302 on the upload: an SR on a member is uploaded to that member, exit 0', async ({ expect }) => {
    const [pool] = await startInventory(loadInventoryFile(poolFile()))
    try {
      const file = await recipe([[/name_label: Local storage\n/, 'name_label: Local storage\n  host: xcp2\n']])
      const { r, objects } = await inProcess(pool!, { recipe: file, image: await image(), json: true })
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).upload.redirected_to).toBe('xcp2')
      expect(objects).toEqual(ONE_VM)
    } finally {
      await pool!.close()
    }
  })

  simTest('SR full: refused before anything is created, exit 1', async ({ newSim, expect }) => {
    const sim = await newSim()
    sim.faults.fillSr(sim.inventory.localSr)
    const { r, objects } = await inProcess(sim, { image: await image() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('has no room for the disk')
    expect(objects).toEqual(NOTHING)
  })

  simTest('template missing: exit 1, nothing created', async ({ newSim, expect }) => {
    const sim = await newSim()
    const { r, objects } = await inProcess(sim, { recipe: await recipe([[/^template: .*$/m, 'template: No such template']]), image: await image() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('No template named "No such template"')
    expect(objects).toEqual(NOTHING)
  })

  simTest('SR name ambiguous (a pool, no host to choose by): exit 1 with the candidates, nothing created', async ({ expect }) => {
    const [pool] = await startInventory(loadInventoryFile(poolFile()))
    try {
      const file = await recipe([[/^  name_label: Local storage$/m, '  name_label: Local storage\n  host: xcp9']])
      const { r, objects } = await inProcess(pool!, { recipe: file, image: await image() })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/3 SRs are named "Local storage"/)
      expect(r.stderr).toContain('sr.host')
      expect(objects).toEqual(NOTHING)
    } finally {
      await pool!.close()
    }
  })

  simTest('MAC taken by another VM: exit 1, nothing created', async ({ newSim, connectTo, expect }) => {
    const sim = await newSim()
    const x = await connectTo(sim)
    const other = await x.callAsync<string>('VM.clone', sim.inventory.template, 'other')
    await x.call('VIF.create', { VM: other, network: sim.inventory.network, device: '0', MAC: deriveMac('FreeBSD-9.0'), MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })
    const { r, objects } = await inProcess(sim, { image: await image() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`MAC ${deriveMac('FreeBSD-9.0')} is already in use`)
    expect(objects).toEqual(NOTHING)
  })

  simTest('VM already made by the tool with the same settings: exit 0, said so, nothing changed (state: present)', async ({ newSim, expect }) => {
    const sim = await newSim()
    const img = await image()
    expect((await inProcess(sim, { image: img })).r.code).toBe(0)
    const before = sim.calls().length
    const { r, objects } = await inProcess(sim, { image: img })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('VM "FreeBSD-9.0" (')
    expect(r.stdout).toContain('already exists with these settings; nothing to do')
    expect(objects).toEqual(NOTHING)
    expect(
      sim
        .calls()
        .slice(before)
        .filter((m) => !/^(session\.|system\.|event\.from$|[A-Za-z_]+\.get_)/.test(m) && !m.startsWith('pool.') && !m.startsWith('task.')),
    ).toEqual([])
  })

  simTest('VM name taken by a VM the tool did not make: exit 1 (name-taken), nothing created', async ({ newSim, expect }) => {
    const sim = await newSim()
    const img = await image()
    expect((await inProcess(sim, { image: img })).r.code).toBe(0)
    // Strip the tool's marks: the VM's settings record and its disk's VM mark.
    for (const [cls, key] of [
      ['VM', 'xcp-provision:settings'],
      ['VDI', 'xcp-provision:vm'],
    ] as const) {
      for (const [ref, o] of Object.entries(sim.objects()[cls] ?? {})) {
        const oc = { ...(o.other_config as Record<string, string>) }
        if (!(key in oc)) continue
        delete oc[key]
        sim.state.store.update(cls, ref, { other_config: oc })
      }
    }
    const { r, objects } = await inProcess(sim, { image: img, json: true })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'name-taken', what: 'A VM named "FreeBSD-9.0" already exists' })
    expect(objects).toEqual(NOTHING)
  })

  simTest("image larger than the VDI: exit 3 (the recipe's virtual_size is too small) before any XAPI call", async ({ newSim, expect }) => {
    const sim = await newSim()
    const { r, objects } = await inProcess(sim, { recipe: await recipe([[/virtual_size: 11GiB/, 'virtual_size: 8MiB']]), image: await image() })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('The image does not fit in the VDI')
    expect(objects).toEqual(NOTHING)
    expect(sim.calls()).toEqual([])
  })
})

describe('fault matrix, spawned CLI (one row per kind of behaviour, real back-off)', () => {
  it('connection reset at 50% of the upload: the segment is retried, exit 0', async () => {
    const sim = await withSimulator()
    const img = await image()
    sim.faults.add({ upload: 'cut', afterBytes: Math.floor((await bodyBytes(sim, img)) * 0.5) })
    const { r, objects } = await spawned(sim, ['freebsd-9', '--image', img])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/retrying/)
    expect(objects).toEqual(ONE_VM)
  })

  it('SESSION_INVALID mid-run (sessions expire during a step): logs in again and continues, exit 0', async () => {
    const sim = await withSimulator()
    // Held in flight: the sessions expire while the run is inside the step, whatever the machine's speed.
    const hold = sim.faults.hold('VM.set_PV_args')
    const run = spawned(sim, ['freebsd-9', '--image', await image()])
    // A run that ends before the step fails the assertions below instead of waiting out the timeout.
    await Promise.race([hold.reached, run])
    sim.faults.expireSessions()
    hold.release()
    const { r, objects } = await run
    expect(r.code, r.stderr).toBe(0)
    expect(sim.calls().filter((m) => m === 'session.login_with_password').length).toBeGreaterThanOrEqual(2)
    expect(objects).toEqual(ONE_VM)
  })

  it('HOST_IS_SLAVE: --host on a pool member follows to the master, exit 0', async () => {
    const [pool] = await startInventory(loadInventoryFile(poolFile()))
    try {
      const { r, objects } = await spawned(pool!, ['freebsd-9', '--image', await image()], pool!.hosts[1]!.url)
      expect(r.code, r.stderr).toBe(0)
      expect(objects).toEqual(ONE_VM)
    } finally {
      await pool!.close()
    }
  })

  it('BOOTLOADER_FAILED at VM.start: rolled back, exit 1', async () => {
    const sim = await withSimulator()
    const { r, objects } = await spawned(sim, ['freebsd-9', '--image', await image({ partitionOffsetSectors: 16 }), '--skip-preflight'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('pygrub could not boot the disk: Unable to find partition containing kernel')
    expect(r.stderr).toContain('removed what this run created')
    expect(objects).toEqual(NOTHING)
  })

  it('image missing or unreadable: exit 2 (a bad --image) before any XAPI call', async () => {
    const sim = await withSimulator()
    const [missing, directory] = await Promise.all([spawned(sim, ['freebsd-9', '--image', '/nonexistent/disk.img']), spawned(sim, ['freebsd-9', '--image', tmpdir()])])
    for (const { r, objects } of [missing!, directory!]) {
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('Cannot read the image')
      expect(objects).toEqual(NOTHING)
    }
    expect(sim.calls()).toEqual([])
  })
})
