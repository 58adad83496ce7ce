import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { until } from '../support/until.js'
import { spawnSimulator } from '../support/cli.js'
import { rawCall, login } from '../support/rpc.js'

const EXAMPLE = fileURLToPath(new URL('../../docs/examples/pool.yaml', import.meta.url))

/** `provision sim --inventory` as another project's CI runs it (needs `npm run build`). */
describe('provision sim --inventory', () => {
  it('serves every host of the documented pool and its control endpoint', async () => {
    const sim = await spawnSimulator({}, ['--inventory', EXAMPLE])
    try {
      // Up to 10 s, not 1: on a loaded machine the lines after the URL can come late.
      await until('the five lines after the URL', () => sim.more.length >= 5).catch(() => undefined)
      const port = new URL(sim.url).port
      expect(sim.more).toEqual([
        `  xcp1 http://127.0.0.1:${port} (master)`,
        `  xcp2 http://127.0.0.2:${port} (member)`,
        `  xcp3 http://127.0.0.3:${port} (member)`,
        `  credentials: user root (the inventory file ${EXAMPLE}), password from the inventory file ${EXAMPLE}`,
        `  control API http://127.0.0.1:${port}/_sim/ (HTTP Basic: user root and the XAPI password)`,
      ])
      const s = await login(sim.url)
      expect((await rawCall(sim.url, 'SR.get_by_name_label', s, 'Local storage')).Value).toHaveLength(3)
      expect((await rawCall(`http://127.0.0.2:${port}/`, 'session.login_with_password', 'root', 'simulator')).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.1'])
      expect((await fetch(new URL('/_sim/objects', sim.url))).status).toBe(401)
      const authorization = `Basic ${Buffer.from('root:simulator').toString('base64')}`
      const objects = (await (await fetch(new URL('/_sim/objects', sim.url), { headers: { authorization } })).json()) as Record<string, object>
      expect(Object.keys(objects.host ?? {})).toHaveLength(3)
    } finally {
      expect(await sim.stop()).toBe(0)
    }
  })
})
