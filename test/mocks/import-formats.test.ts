import { afterAll, beforeAll, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withSimulator, connectTo } from '../support/simulator.js'
import { needs } from '../support/oracles.js'
import { convert, rawFixture, SIZE } from '../formats/fixtures.js'
import { MiB, pattern, writeSparse } from '../upload/helpers.js'
import type { Simulator } from '../../mocks/simulator.js'
import type { XapiConnection } from '../../src/xapi/connection.js'

/**
 * PUT /import_raw_vdi?format=vhd|qcow2 as xapi's import_raw_vdi.ml answers it, and what
 * vhd-tool / qcow-stream-tool accept of the body: the VDI is compared with the input by
 * the real qemu-img.
 */
const qemu = needs('qemu-img')

function put(url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.end(body)
  })
}

async function setup(profile: string, size = SIZE): Promise<{ sim: Simulator; x: XapiConnection; vdi: string; task: string }> {
  const sim = await withSimulator({ profile })
  const x = await connectTo(sim)
  const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: size, type: 'system', sharable: false, read_only: false, other_config: {} })
  const task = await x.call<string>('task.create', 'import', '')
  return { sim, x, vdi, task }
}

function url(sim: Simulator, q: Record<string, string>): URL {
  const u = new URL('/import_raw_vdi', sim.url)
  u.search = new URLSearchParams(q).toString()
  return u
}

const outcome = (x: XapiConnection, task: string): Promise<string[]> =>
  x.watchTask<string>(task).then(
    (v) => ['success', v],
    (e: { code: string; params: string[] }) => [e.code, ...e.params],
  )

let dir: string
let raw: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'import-formats-'))
  raw = await rawFixture(dir)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `qemu-img compare` of what the simulator holds against the image sent: exit 0 means the same disk. */
function sameDisk(sim: Simulator, vdi: string, image: string): string {
  const held = join(dir, `held-${vdi.slice(-8)}.raw`)
  writeFileSync(held, sim.readVdi(vdi))
  const r = spawnSync('qemu-img', ['compare', '-f', 'raw', held, image], { encoding: 'utf8' })
  return `${r.status} ${r.stdout.trim()}`
}

qemu.describe('PUT /import_raw_vdi with format=vhd and format=qcow2', () => {
  qemu.it('decodes a qcow2 body into the VDI on xapi 26.1 (XCP-ng 8.3): the VDI is the image qemu reads', async () => {
    const { sim, x, vdi, task } = await setup('xcp-ng-8.3')
    const image = convert(raw, ['-O', 'qcow2'], join(dir, 'a.qcow2'))
    expect(await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'qcow2' }), readFileSync(image))).toBe(200)
    expect(await outcome(x, task)).toEqual(['success', vdi])
    expect(sameDisk(sim, vdi, image)).toBe('0 Images are identical.')
  })

  qemu.it('decodes a dynamic VHD body on xapi 1.249 (XCP-ng 8.2), and the format name is case-insensitive', async () => {
    const { sim, x, vdi, task } = await setup('xcp-ng-8.2')
    const image = convert(raw, ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'], join(dir, 'a.vhd'))
    expect(await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'VHD' }), readFileSync(image))).toBe(200)
    expect(await outcome(x, task)).toEqual(['success', vdi])
    expect(sameDisk(sim, vdi, raw)).toBe('0 Images are identical.')
  })

  qemu.it('refuses qcow2 before xapi 25.27 as an unknown format: HTTP 404, the task fails INTERNAL_ERROR', async () => {
    const { sim, x, vdi, task } = await setup('xcp-ng-8.2')
    const image = convert(raw, ['-O', 'qcow2'], join(dir, 'b.qcow2'))
    expect(await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'qcow2' }), readFileSync(image))).toBe(404)
    expect(await outcome(x, task)).toEqual(['INTERNAL_ERROR', 'Unknown format qcow2'])
    expect(sim.state.disks.get(vdi)!.allocated).toBe(0)
  })

  qemu.it('refuses an unknown format, chunked with vhd or qcow2, and vhd/qcow2 into an SR without a vdi, before the 200', async () => {
    const { sim, x, vdi } = await setup('xcp-ng-8.3')
    const cases: [Record<string, string>, number, string[]][] = [
      [{ vdi, format: 'vmdk' }, 404, ['INTERNAL_ERROR', 'Unknown format vmdk']],
      [{ vdi, format: 'vhd', chunked: 'true' }, 404, ['INTERNAL_ERROR', 'Cannot handle chunked VHD']],
      [{ vdi, format: 'qcow2', chunked: '' }, 404, ['INTERNAL_ERROR', 'Cannot handle chunked VHD']],
      [{ sr_id: sim.inventory.localSr, format: 'vhd' }, 400, ['INTERNAL_ERROR', 'Importing a VHD directly into an SR not yet supported']],
      [{ sr_id: sim.inventory.localSr, format: 'qcow2' }, 400, ['INTERNAL_ERROR', 'Importing a QCOW2 directly into an SR not yet supported']],
      [{ format: 'qcow2' }, 400, ['VDI_MISSING']],
    ]
    for (const [q, status, error] of cases) {
      const task = await x.call<string>('task.create', 'import', '')
      expect(await put(url(sim, { session_id: x.sessionId, task_id: task, ...q }), Buffer.alloc(512, 1)), JSON.stringify(q)).toBe(status)
      expect(await outcome(x, task), JSON.stringify(q)).toEqual(error)
    }
  })

  qemu.it('fails the task as the tools do: a fixed VHD (vhd-tool reads the footer copy at byte 0), a body of another format', async () => {
    const { sim, x, vdi, task } = await setup('xcp-ng-8.3')
    const fixed = convert(raw, ['-O', 'vpc', '-o', 'subformat=fixed'], join(dir, 'fixed.vhd'))
    expect(await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'vhd' }), readFileSync(fixed))).toBe(200)
    expect(await outcome(x, task)).toEqual(['VDI_IO_ERROR', 'Device I/O errors'])
    const again = await x.call<string>('task.create', 'import', '')
    await put(url(sim, { session_id: x.sessionId, task_id: again, vdi, format: 'qcow2' }), readFileSync(fixed))
    const [code, why] = await outcome(x, again)
    expect(code).toBe('VDI_IO_ERROR')
    expect(why).toMatch(/^qcow-stream-tool: /)
    expect(sim.state.disks.get(vdi)!.allocated).toBe(0)
  })

  qemu.it('refuses what qcow-stream-tool cannot stream: compressed clusters, L2 tables between data clusters', async () => {
    const { sim, x, vdi, task } = await setup('xcp-ng-8.3', 1024 * MiB)
    const compressed = convert(raw, ['-c', '-O', 'qcow2'], join(dir, 'c.qcow2'))
    await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'qcow2' }), readFileSync(compressed))
    expect((await outcome(x, task)).slice(0, 2).join(' ')).toMatch(/^VDI_IO_ERROR .*Compressed_unsupported/s)
    // Data in two 512 MiB spans: qemu-img writes the second L2 table after the first span's data.
    const wide = join(dir, 'wide.raw')
    await writeSparse(wide, 1024 * MiB, [
      { offset: 0, data: pattern(MiB, 5) },
      { offset: 700 * MiB, data: pattern(MiB, 6) },
    ])
    const interleaved = convert(wide, ['-O', 'qcow2'], join(dir, 'wide.qcow2'))
    const again = await x.call<string>('task.create', 'import', '')
    await put(url(sim, { session_id: x.sessionId, task_id: again, vdi, format: 'qcow2' }), readFileSync(interleaved))
    expect((await outcome(x, again)).slice(0, 2).join(' ')).toMatch(/^VDI_IO_ERROR .*can.t read non-sequential clusters/s)
    expect(sim.state.disks.get(vdi)!.allocated).toBe(0)
  })

  qemu.it('ignores format= on XCP 1.1 (xapi 1.3 predates it): the body is written as raw', async () => {
    const { sim, x, vdi, task } = await setup('xcp-1.1', 8 * MiB)
    const body = pattern(70000, 7)
    expect(await put(url(sim, { session_id: x.sessionId, task_id: task, vdi, format: 'qcow2' }), body)).toBe(200)
    expect(await outcome(x, task)).toEqual(['success', vdi])
    expect(sim.readVdi(vdi, 0, body.length)).toEqual(body)
  })
})
