import { describe, expect, it } from 'vitest'
import { runCli, spawnSimulator } from '../support/cli.js'
import { parseHost } from '../../src/cli/host.js'

describe('CLI basics', () => {
  it('--help shows usage and examples; --version the package version', async () => {
    const h = await runCli(['--help'])
    expect(h.code).toBe(0)
    expect(h.stdout).toContain('provision freebsd-9 --host sim')
    const v = await runCli(['--version'])
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('rejects unknown options with exit code 2', async () => {
    const r = await runCli(['freebsd-9', '--hots', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--hots')
  })

  it('reads --host as a name, name:port or URL', () => {
    expect(parseHost('xcp1')).toEqual({ kind: 'url', url: 'https://xcp1/' })
    expect(parseHost('xcp1:8443')).toEqual({ kind: 'url', url: 'https://xcp1:8443/' })
    expect(parseHost('http://10.0.0.5:8080/')).toEqual({ kind: 'url', url: 'http://10.0.0.5:8080/' })
    expect(parseHost('sim')).toEqual({ kind: 'sim' })
    expect(() => parseHost('https://root:pw@xcp1/')).toThrow(/credentials/)
  })

  it('provision freebsd-9 --host sim runs the whole job on the embedded simulator', async () => {
    const r = await runCli(['freebsd-9', '--host', 'sim'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('VM "FreeBSD-9.0" is Running.')
    expect(r.stderr).toContain('Upload the image')
  })

  it('provision sim prints its URL first and stops cleanly on SIGINT', async () => {
    const sim = await spawnSimulator({ XAPI_USER: 'u', XAPI_PASSWORD: 'p' })
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(await sim.stop('SIGINT')).toBe(0)
  })
})
