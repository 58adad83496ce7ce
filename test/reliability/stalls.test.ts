import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { truncate } from 'node:fs/promises'
import { withSimulator, connectTo } from '../support/simulator.js'
import { silentServer, switchableFront, tricklingServer } from '../support/hostile-servers.js'
import { runCli } from '../support/cli.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'
import { HostTimeout, callAllowanceMs, DEFAULT_TIMEOUTS } from '../../src/xapi/timeouts.js'
import { ImageShrank } from '../../src/upload/send/import-raw-vdi.js'
import { UploadFailed } from '../../src/upload/send/upload-failed.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { uploadImage } from '../../src/upload/upload.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'
import { MiB, createVdi, scattered, tempDir, writeSparse } from '../upload/helpers.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

const CREDS = { user: 'root', password: 'not-the-point' }

/** How long `p` takes to settle, and with what. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const t0 = Date.now()
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  return { ms: Date.now() - t0, error }
}

describe('a host that never answers ends in a clear timeout, not in silence', () => {
  it('accepts the connection and says nothing: the login ends after the response timeout, naming host, call and limit', async () => {
    const s = await silentServer()
    cleanups.push(() => s.close())
    const { ms, error } = await timed(connect({ url: s.url, ...CREDS, timeouts: { responseMs: 500 } }))
    expect(error).toBeInstanceOf(HostTimeout)
    const e = error as HostTimeout
    expect(e.phase).toBe('response')
    expect(e.info.what).toBe(`127.0.0.1:${s.port} did not answer session.login_with_password within 0.5 s`)
    expect(e.info.why).toContain('--timeout-response')
    expect(e.info.fix).toMatch(/toolstack/)
    expect(ms).toBeGreaterThanOrEqual(450)
    // The defaults are 30 s (connect) and 120 s (response): 10 s tells the 0.5 s limit at work, with room for a loaded machine.
    expect(ms).toBeLessThan(10_000)
  })

  it.each(['headers', 'body'] as const)('sends one byte at a time (in the %s): the whole answer must come within the response timeout', async (phase) => {
    const s = await tricklingServer({ intervalMs: 50, phase })
    cleanups.push(() => s.close())
    // An idle limit the trickle never trips, even when a loaded machine delays a byte by
    // half a second (longer than the deadline): only the deadline on the whole answer can end it.
    const { ms, error } = await timed(connect({ url: s.url, ...CREDS, timeouts: { responseMs: 800, idleMs: 2000 } }))
    expect(error).toBeInstanceOf(HostTimeout)
    expect((error as HostTimeout).phase).toBe('response')
    expect(s.bytesSent()).toBeGreaterThan(5)
    expect(ms).toBeLessThan(10_000)
  })

  it('never completes the TLS handshake: the connect timeout ends it', async () => {
    const s = await silentServer()
    cleanups.push(() => s.close())
    const { ms, error } = await timed(connect({ url: `https://127.0.0.1:${s.port}/`, ...CREDS, timeouts: { connectMs: 500 } }))
    expect(error).toBeInstanceOf(HostTimeout)
    expect((error as HostTimeout).info.what).toBe(`Could not connect to 127.0.0.1:${s.port} within 0.5 s (session.login_with_password)`)
    expect(ms).toBeLessThan(10_000)
  })

  it('a call that stalls after the login ends with its own name', async () => {
    const sim = await withSimulator()
    const x = await connect({ url: sim.url, ...sim.credentials, timeouts: { responseMs: 400 } })
    cleanups.push(() => x.close())
    sim.faults.add({ method: 'VM.get_all_records', delayMs: 5000 })
    const { ms, error } = await timed(x.call('VM.get_all_records'))
    expect((error as HostTimeout).info.what).toMatch(/did not answer VM\.get_all_records within 0\.4 s$/)
    // Before the delayed answer (5 s) could come, with room for a loaded machine.
    expect(ms).toBeLessThan(4000)
  })

  it("event.from's long-poll has its own allowance: a poll held past the response timeout is not a stall", async () => {
    expect(callAllowanceMs('event.from', ['session', ['task'], '', 30.1], DEFAULT_TIMEOUTS)).toBe(30_100 + DEFAULT_TIMEOUTS.responseMs)
    expect(callAllowanceMs('VDI.create', ['session', {}], DEFAULT_TIMEOUTS)).toBe(5 * DEFAULT_TIMEOUTS.responseMs)
    const sim = await withSimulator()
    const x = await connect({ url: sim.url, ...sim.credentials, timeouts: { responseMs: 500 } })
    cleanups.push(() => x.close())
    sim.faults.add({ method: 'event.from', delayMs: 1200 })
    const task = await x.call<string>('task.create', 'probe', '')
    await x.call('task.set_status', task, 'cancelled')
    await expect(x.watchTask(task)).rejects.toThrow(/TASK_CANCELLED/)
  })
})

describe('transfers stall or lose their data source', () => {
  it('a host that goes silent mid-upload: the PUT ends on the idle timeout, the next call on the response timeout, within seconds', async () => {
    const sim = await withSimulator()
    const front = await switchableFront(sim.url)
    cleanups.push(() => front.close())
    const x: XapiConnection = await connect({ url: front.url, ...sim.credentials, timeouts: { responseMs: 500, idleMs: 500 } })
    cleanups.push(() => x.close())
    const SIZE = 16 * MiB
    const image = join(await tempDir(), 'disk.img')
    await writeSparse(image, SIZE, scattered(SIZE, 4, MiB))
    const vdi = await createVdi(x, sim, SIZE)
    const map = await scanDataRegions(image)
    let frozen = false
    const events: string[] = []
    const { ms, error } = await timed(
      uploadImage(x, {
        vdi,
        image,
        map,
        tuning: { segmentBytes: MiB, retry: { retries: 3, minTimeoutMs: 50, maxTimeoutMs: 100 } },
        onProgress: (p) => {
          if (!frozen && p.sent > MiB / 2) {
            frozen = true
            front.freeze()
          }
        },
        onEvent: (e) => void (e.type === 'upload-retry' && events.push(e.error)),
      }),
    )
    expect(error).toBeInstanceOf(UploadFailed)
    // The stalled PUT: the idle limit, said as such, then retried.
    expect(
      events.some((e) => /sent nothing for 0\.5 s during PUT \/import_raw_vdi/.test(e)),
      events.join('\n'),
    ).toBe(true)
    // The retry's first XAPI call meets the same silence: a hung API is not retried again and again.
    expect((error as UploadFailed).info.why).toMatch(/did not answer .* within 0\.5 s/)
    expect((error as UploadFailed).info.fix).toMatch(/toolstack/)
    expect(ms).toBeLessThan(15_000)
  })

  it('an image truncated mid-upload: one clear message at once, no retry, no talk of a clean transfer or of resuming', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const SIZE = 48 * MiB
    const image = join(await tempDir(), 'disk.img')
    await writeSparse(image, SIZE, scattered(SIZE, 6, 4 * MiB))
    const vdi = await createVdi(x, sim, 64 * MiB)
    const map = await scanDataRegions(image)
    let cut = false
    const { ms, error } = await timed(
      uploadImage(x, {
        vdi,
        image,
        map,
        tuning: { segmentBytes: 8 * MiB },
        onProgress: (p) => {
          if (!cut && p.sent > 2 * MiB) {
            cut = true
            void truncate(image, 10 * MiB)
          }
        },
      }),
    )
    expect(error).toBeInstanceOf(UploadFailed)
    const e = error as UploadFailed
    expect(e.cause).toBeInstanceOf(ImageShrank)
    expect(e.info.why).toMatch(/^The image changed during the upload: the image shrank while it was being read \(short read at byte \d+\) \(not retried: another attempt cannot help\)$/)
    expect(e.info.fix).toMatch(/nothing writes to the image/)
    expect(`${e.info.why} ${e.info.fix}`).not.toMatch(/clean transfer|resume|retries ran out/)
    expect(ms).toBeLessThan(10_000)
  })
})

describe('the CLI', () => {
  it('--timeout-response ends a login to a silent host in about that long, with what/why/fix and exit 1', async () => {
    const s = await silentServer()
    cleanups.push(() => s.close())
    const image = join(await tempDir(), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const t0 = Date.now()
    const r = await runCli(['freebsd-9', '--host', s.url, '--image', image, '--timeout-response', '1'], { XAPI_USER: 'root', XAPI_PASSWORD: 'x-secret' })
    const ms = Date.now() - t0
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain(`error: 127.0.0.1:${s.port} did not answer session.login_with_password within 1 s`)
    expect(r.stderr).toMatch(/why: .*--timeout-response/)
    expect(r.stderr).toMatch(/fix: .*toolstack/)
    // A process start, the image's checks and the 1 s limit: 30 s leaves room for a loaded
    // machine and still tells it from the 120 s default.
    expect(ms).toBeLessThan(30_000)
  })

  it('a timeout that is not a number of seconds is a usage error (exit 2), from an option or the environment', async () => {
    const bad = await runCli(['freebsd-9', '--host', 'sim', '--timeout-idle', 'soon'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--timeout-idle "soon" is not a timeout')
    const env = await runCli(['freebsd-9', '--host', 'sim'], { XAPI_TIMEOUT_CONNECT: '-3' })
    expect(env.code).toBe(2)
    expect(env.stderr).toContain('XAPI_TIMEOUT_CONNECT "-3" is not a timeout')
  })
})
