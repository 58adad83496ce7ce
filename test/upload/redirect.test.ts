import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { mkdtemp, readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, type Simulator } from '../../mocks/simulator.js'
import { PV_PROFILE } from '../support/simulator.js'
import { PoolSpec } from '../../mocks/inventory-file.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'
import { provision } from '../../src/provision/run.js'
import type { ProvisionResult } from '../../src/provision/types.js'
import { loadRecipe } from '../../src/recipe/load.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'
import { selfSigned, type SelfSigned } from '../support/tls-front.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { splitSegments } from '../../src/upload/resume/segments.js'
import { verifyVdi } from '../../src/upload/verify/verify.js'
import { needs } from '../support/oracles.js'

const running: Simulator[] = []
const conns: XapiConnection[] = []
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)))
  await Promise.all(running.splice(0).map((s) => s.close()))
})

/** xcp1 (master) and xcp2, each with its own Local storage, on 127.0.0.1 and 127.0.0.2. */
async function twoHosts(tls?: { xcp1: SelfSigned; xcp2: SelfSigned }): Promise<Simulator> {
  const pem = (c: SelfSigned | undefined): object => (c ? { tls: { key: c.key, cert: c.cert } } : {})
  // The recipe here is the HOWTO's PV one: a release that still runs PV guests.
  const sim = await startSimulator({
    profile: PV_PROFILE,
    pool: PoolSpec.parse({
      hosts: [
        { name: 'xcp1', address: '127.0.0.1', ...pem(tls?.xcp1) },
        { name: 'xcp2', address: '127.0.0.2', ...pem(tls?.xcp2) },
      ],
    }),
  })
  running.push(sim)
  return sim
}

function localSrOf(sim: Simulator, host: string): string {
  return sim.inventory.hosts.find((h) => h.name === host)!.localSr
}

function rawPut(url: URL, body: Buffer): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('302 on raw VDI transfers (SR plugged on another host)', () => {
  it('the master redirects an import and an export to the host whose Local storage holds the VDI, with the same query', async () => {
    const sim = await twoHosts()
    const x = await connect({ url: sim.url, ...sim.credentials })
    conns.push(x)
    const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: localSrOf(sim, 'xcp2'), virtual_size: 4 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
    const task = await x.call<string>('task.create', 'import', '')
    const query = new URLSearchParams({ session_id: x.sessionId, task_id: task, vdi, format: 'raw' }).toString()
    const port = new URL(sim.url).port

    const onMaster = await rawPut(new URL(`/import_raw_vdi?${query}`, sim.url), Buffer.alloc(4096, 1))
    expect(onMaster.status).toBe(302)
    expect(onMaster.location).toBe(`http://127.0.0.2:${port}/import_raw_vdi?${query}`)
    // The task is the client's to send again: still pending, not failed.
    expect(await x.call('task.get_status', task)).toBe('pending')

    const onMember = await rawPut(new URL(onMaster.location!), Buffer.alloc(4096, 1))
    expect(onMember.status).toBe(200)
    expect(await x.watchTask(task)).toBe(vdi)
    expect(sim.readVdi(vdi, 0, 4096)).toEqual(Buffer.alloc(4096, 1))

    const exportQuery = new URLSearchParams({ session_id: x.sessionId, vdi, format: 'raw' }).toString()
    const exp = await fetch(new URL(`/export_raw_vdi?${exportQuery}`, sim.url), { redirect: 'manual' })
    expect(exp.status).toBe(302)
    expect(exp.headers.get('location')).toBe(`http://127.0.0.2:${port}/export_raw_vdi?${exportQuery}`)
    await exp.body?.cancel()

    // A VDI on the master's own SR is served where it was asked; the empty PUT a client
    // sends as a redirect probe leaves no task behind.
    const own = await x.call<string>('VDI.create', { name_label: 'e', SR: localSrOf(sim, 'xcp1'), virtual_size: 4 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
    const tasksBefore = Object.keys(sim.objects().task ?? {}).length
    const probe = await rawPut(new URL(`/import_raw_vdi?${new URLSearchParams({ session_id: x.sessionId, vdi: own, format: 'raw' })}`, sim.url), Buffer.alloc(0))
    expect(probe.status).toBe(200)
    expect(Object.keys(sim.objects().task ?? {}).length).toBe(tasksBefore)
  })

  it('provision follows the redirect to the member that owns the SR, and --verify reads it back there', async () => {
    const sim = await twoHosts()
    const image = join(await mkdtemp(join(tmpdir(), 'redirect-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const { recipe } = await loadRecipe('freebsd-9')
    const res = (await provision({ url: sim.url, ...sim.credentials, image, verify: true, recipe: { ...recipe, sr: { ...recipe.sr, host: 'xcp2' } } })) as ProvisionResult
    expect(res.upload.redirected_to).toBe('xcp2')
    expect(res.upload.verified).toBe(true)
    const vdi = sim.objects().VDI![res.vdi.ref]!
    expect(vdi.SR).toBe(localSrOf(sim, 'xcp2'))
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
    const img = await readFile(image)
    expect(sha(sim.readVdi(res.vdi.ref, 0, img.length))).toBe(sha(img))
    expect(res.vm.power_state).toBe('Running')
    // One probe answered 302 by the master; every segment and the export went straight to xcp2.
    expect(sim.transfers().map((t) => `${t.method} ${t.host} ${t.status}`)).toEqual(['PUT xcp1 302', 'PUT xcp2 200', 'GET xcp2 200'])
    // Its disk is on xcp2's Local storage, so that is the only host that can run it.
    expect(sim.objects().VM![res.vm.ref]!.resident_on).toBe(sim.inventory.hosts.find((h) => h.name === 'xcp2')!.ref)
    // On the master's own storage nothing is redirected.
    const here = (await provision({ url: sim.url, ...sim.credentials, image, name: 'on-master', recipe })) as ProvisionResult
    expect(here.upload.redirected_to).toBeUndefined()
  })

  it('--verify alone (the target unknown) meets the export 302 and asks XAPI where to read', async () => {
    const sim = await twoHosts()
    const image = join(await mkdtemp(join(tmpdir(), 'redirect-verify-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const { recipe } = await loadRecipe('freebsd-9')
    const res = (await provision({ url: sim.url, ...sim.credentials, image, recipe: { ...recipe, sr: { ...recipe.sr, host: 'xcp2' } } })) as ProvisionResult
    const x = await connect({ url: sim.url, ...sim.credentials })
    conns.push(x)
    const map = await scanDataRegions(image)
    const before = sim.transfers().length
    // Told the session's host serves it (null), as a stale answer would: the export is redirected.
    const v = await verifyVdi(x, { vdi: res.vdi.ref, map, segments: splitSegments(map), target: null })
    expect(v.segments).toBe(1)
    expect(
      sim
        .transfers()
        .slice(before)
        .map((t) => `${t.method} ${t.host} ${t.status}`),
    ).toEqual(['GET xcp1 302', 'PUT xcp1 302', 'GET xcp2 200'])
  })

  needs('openssl').it('with a pinned master certificate, the member is trusted by the certificate the master reports for it', async () => {
    const certs = { xcp1: await selfSigned('xcp1'), xcp2: await selfSigned('xcp2') }
    const sim = await twoHosts(certs)
    expect(sim.url).toMatch(/^https:/)
    const image = join(await mkdtemp(join(tmpdir(), 'redirect-tls-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const { recipe } = await loadRecipe('freebsd-9')
    const onXcp2 = { ...recipe, sr: { ...recipe.sr, host: 'xcp2' } }
    const res = (await provision({ url: sim.url, ...sim.credentials, image, recipe: onXcp2, fingerprint: certs.xcp1.fingerprint256, verify: true })) as ProvisionResult
    expect(res.upload.redirected_to).toBe('xcp2')
    expect(res.upload.verified).toBe(true)
    expect(res.vm.power_state).toBe('Running')
  })

  needs('openssl').it('with a pinned certificate, a member that presents another certificate than the master reports is refused', async () => {
    const certs = { xcp1: await selfSigned('xcp1'), xcp2: await selfSigned('xcp2') }
    const sim = await twoHosts(certs)
    // The master now reports a certificate the member does not serve: a man in the middle.
    sim.state.certificates.set(sim.inventory.hosts.find((h) => h.name === 'xcp2')!.ref, (await selfSigned('impostor')).cert)
    const image = join(await mkdtemp(join(tmpdir(), 'redirect-mitm-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const { recipe } = await loadRecipe('freebsd-9')
    const err = await provision({
      url: sim.url,
      ...sim.credentials,
      image,
      recipe: { ...recipe, sr: { ...recipe.sr, host: 'xcp2' } },
      fingerprint: certs.xcp1.fingerprint256,
      upload: { retry: { retries: 1, minTimeoutMs: 10, maxTimeoutMs: 10 } },
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    const text = `${(err as Error).message} ${String((err as Error).cause)}`
    expect(text).toContain('the certificate of 127.0.0.2')
    expect(text).toContain('not the certificate the pool master reports for that host')
    expect(text).toContain('failed after 1 attempt')
    // The refused segment's task never reached XAPI: it was ended, not left pending for a day.
    expect(Object.values(sim.objects().task ?? {}).filter((t) => t.status === 'pending')).toEqual([])
    // Rolled back: no VM, no VDI of this run left.
    expect(Object.values(sim.objects().VM!).filter((v) => !v.is_a_template && !v.is_control_domain)).toEqual([])
  })
})
