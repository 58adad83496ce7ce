import { expect, it } from 'vitest'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { selfSigned, tlsFront } from '../support/tls-front.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'
import { needs } from '../support/oracles.js'

async function setup(): Promise<{ https: string; fp: string; env: Record<string, string>; image: string; calls: () => string[]; close: () => Promise<void> }> {
  const sim = await withSimulator()
  const cert = await selfSigned()
  const front = await tlsFront(sim.url, cert)
  const image = join(await mkdtemp(join(tmpdir(), 'tls-')), 'img')
  await writeSampleImage(image, { diskSize: SMALL_PV })
  return {
    https: front.url,
    fp: cert.fingerprint256,
    env: { XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password },
    image,
    calls: () => sim.calls(),
    close: front.close,
  }
}

needs('openssl').describe('TLS against the simulator served over HTTPS with a self-signed certificate', () => {
  it('verifies by default: a self-signed certificate is refused, with the fix', async () => {
    const t = await setup()
    const r = await runCli(['freebsd-9', '--host', t.https, '--image', t.image], t.env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--fingerprint sha256:')
    expect(t.calls()).toEqual([])
    await t.close()
  })

  it('provisions with the certificate pinned by --fingerprint, upload included', async () => {
    const t = await setup()
    const r = await runCli(['freebsd-9', '--host', t.https, '--image', t.image, '--fingerprint', `sha256:${t.fp}`, '--json'], t.env)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).vm.power_state).toBe('Running')
    expect(r.stderr).not.toContain('warning')
    await t.close()
  })

  it('refuses a certificate that does not match the pin before sending anything', async () => {
    const t = await setup()
    const wrong = t.fp.replace(/^../, t.fp.startsWith('00') ? '11' : '00')
    const r = await runCli(['freebsd-9', '--host', t.https, '--image', t.image, '--fingerprint', wrong], { ...t.env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('does not match --fingerprint')
    expect(t.calls()).toEqual([])
    await t.close()
  })

  it('takes the pin from XAPI_FINGERPRINT too, and --insecure only with a warning', async () => {
    const t = await setup()
    const pinned = await runCli(['freebsd-9', '--host', t.https, '--image', t.image, '--dry-run'], { ...t.env, XAPI_FINGERPRINT: t.fp })
    expect(pinned.code, pinned.stderr).toBe(0)
    const insecure = await runCli(['freebsd-9', '--host', t.https, '--image', t.image, '--dry-run', '--insecure'], t.env)
    expect(insecure.code, insecure.stderr).toBe(0)
    expect(insecure.stderr).toContain('warning: --insecure')
    const both = await runCli(['freebsd-9', '--host', t.https, '--image', t.image, '--insecure', '--fingerprint', t.fp], t.env)
    expect(both.code).toBe(2)
    await t.close()
  })
})
