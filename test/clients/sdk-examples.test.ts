import { expect } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { connectTo, withSimulator } from '../support/simulator.js'
import { needs } from '../support/oracles.js'
import { PoolSpec } from '../../mocks/inventory-file.js'
import { goldenTemplate, xenapiDir } from './support.js'

const run = promisify(execFile)
const SDK = fileURLToPath(new URL('./sdk/', import.meta.url))

/**
 * The Python SDK's example scripts (install.py, powercycle.py, permute.py, fixpbds.py),
 * which xapi's repository once carried as Python 2 and no longer ships, rewritten for
 * Python 3 in test/clients/sdk/ with the same calls in the same order, run with Citrix's
 * XenAPI.py against a two-host pool with shared storage.
 */
const tools = needs('python3', 'XenAPI.py')

tools.describe('the Python SDK example scripts against the simulator', () => {
  tools.it(
    'install, powercycle, permute and fixpbds run green',
    async () => {
      const pool = PoolSpec.parse({
        name: 'sdk',
        hosts: [
          { name: 'xcp1', address: '127.0.0.1' },
          { name: 'xcp2', address: '127.0.0.2' },
        ],
        srs: [
          { name: 'shared', size: 200 * 1024 ** 3 },
          { name: 'spare', size: 10 * 1024 ** 3 },
        ],
      })
      const sim = await withSimulator({ pool, guestBootMs: 50 })
      const x = await connectTo(sim)
      const golden = await goldenTemplate(sim, x, 'golden', sim.inventory.sharedSrs.shared!)
      await x.call('VM.add_to_other_config', golden, 'disks', '<provision><disk device="1" size="67108864" sr="" bootable="false" type="system"/></provision>')
      const py = (script: string, ...args: string[]) =>
        run('python3', [`${SDK}${script}`, sim.url, 'root', 'simulator', ...args], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: xenapiDir() }, timeout: 120_000 })

      const install = await py('install.py', 'golden')
      expect(install.stdout).toMatch(/^PIF eth0 network Pool-wide network associated with eth0$/m)
      expect(install.stdout).toMatch(/^OS FreeBSD \(simulated guest\) IP 10\.0\.0\.\d+$/m)
      const vm = (await x.call<string[]>('VM.get_by_name_label', 'new'))[0]!
      // The provisioning spec was pointed at the default SR: the new disk 1 is there.
      const disks = await Promise.all((await x.call<string[]>('VM.get_VBDs', vm)).map((b) => x.call<Record<string, string>>('VBD.get_record', b)))
      expect(disks.map((d) => d.userdevice).sort()).toEqual(['0', '1'])

      const cycle = await py('powercycle.py', '2')
      expect(cycle.stdout.trim().split('\n')).toEqual(['VMs: 1', 'cycle 1 Halted', 'cycle 2 Halted'])

      await x.call('VM.start', vm, false, false)
      const permute = await py('permute.py', '2')
      expect(permute.stdout.trim().split('\n')).toEqual(["round 1 ['xcp2']", "round 2 ['xcp1']"])

      const spare = sim.inventory.sharedSrs.spare!
      const fix = await py('fixpbds.py', String((await x.call<Record<string, string>>('SR.get_record', spare)).uuid))
      expect(fix.stdout.trim().split('\n').sort()).toEqual(['host xcp1 /export/moved True', 'host xcp2 /export/moved True'])
      const pbds = await x.call<string[]>('SR.get_PBDs', spare)
      expect(pbds).toHaveLength(2)
    },
    180_000,
  )
})
