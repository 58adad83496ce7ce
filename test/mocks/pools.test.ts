import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type Xapi } from 'xen-api'
import { loadInventoryFile, InventoryError, type InventoryFile } from '../../mocks/inventory-file.js'
import { startInventory } from '../../mocks/pools.js'
import type { Simulator } from '../../mocks/simulator.js'
import { login, rawCall } from '../support/rpc.js'

const EXAMPLE = fileURLToPath(new URL('../../docs/examples/pool.yaml', import.meta.url))

const running: Simulator[] = []
const clients: Xapi[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => undefined)))
  await Promise.all(running.splice(0).map((s) => s.close()))
})

async function start(inv: InventoryFile): Promise<Simulator[]> {
  const sims = await startInventory(inv)
  running.push(...sims)
  return sims
}

function writeInventory(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'inv-')), 'inventory.yaml')
  writeFileSync(path, text)
  return path
}

describe('pools from an inventory file', () => {
  it('serves the documented example: three hosts, a Local storage SR each, shared NFS on all', async () => {
    const [sim] = await start(loadInventoryFile(EXAMPLE))
    expect(sim!.hosts.map((h) => new URL(h.url).hostname)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3'])
    expect(new Set(sim!.hosts.map((h) => new URL(h.url).port)).size).toBe(1)
    const s = await login(sim!.url)
    const locals = (await rawCall(sim!.url, 'SR.get_by_name_label', s, 'Local storage')).Value as string[]
    expect(locals).toHaveLength(3)
    // As in a real pool, only the PBD tells which host a Local storage SR belongs to.
    const owners = await Promise.all(
      locals.map(async (sr) => {
        const [pbd] = (await rawCall(sim!.url, 'SR.get_PBDs', s, sr)).Value as string[]
        return (await rawCall(sim!.url, 'PBD.get_host', s, pbd)).Value
      }),
    )
    expect(new Set(owners)).toEqual(new Set(sim!.hosts.map((h) => h.ref)))
    const [nfs] = (await rawCall(sim!.url, 'SR.get_by_name_label', s, 'NFS storage')).Value as string[]
    expect((await rawCall(sim!.url, 'SR.get_PBDs', s, nfs)).Value).toHaveLength(3)
    expect((await rawCall(sim!.url, 'SR.get_shared', s, nfs)).Value).toBe(true)
    expect((await rawCall(sim!.url, 'network.get_by_name_label', s, 'storage')).Value).toHaveLength(1)
  })

  it('HOST_IS_SLAVE [master address] on a member, for a login and for any session call', async () => {
    const [sim] = await start(loadInventoryFile(EXAMPLE))
    const member = sim!.hosts[1]!.url
    expect((await rawCall(member, 'session.login_with_password', 'root', 'simulator')).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.1'])
    const s = await login(sim!.url)
    expect((await rawCall(member, 'VM.get_all', s)).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.1'])
    // The password is not even looked at: a member knows only where its coordinator is.
    expect((await rawCall(member, 'session.login_with_password', 'root', 'wrong')).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.1'])
  })

  it('the xen-api client pointed at a member follows HOST_IS_SLAVE to the master', async () => {
    const [sim] = await start(loadInventoryFile(EXAMPLE))
    const client = createClient({ url: sim!.hosts[2]!.url, auth: { user: 'root', password: 'simulator' }, transport: 'xml-rpc', watchEvents: false })
    clients.push(client)
    await client.connect()
    expect(await client.call('SR.get_by_name_label', 'NFS storage')).toHaveLength(1)
  })

  it('a master change moves HOST_IS_SLAVE to the old master', async () => {
    const [sim] = await start(loadInventoryFile(EXAMPLE))
    sim!.faults.apply({ action: 'master-change', host: 'xcp2' })
    const [, xcp2] = sim!.hosts
    expect((await rawCall(sim!.url, 'session.login_with_password', 'root', 'simulator')).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.2'])
    expect((await rawCall(xcp2!.url, 'session.login_with_password', 'root', 'simulator')).Status).toBe('Success')
  })

  it('starts several pools, each its own database, with faults armed from the file', async () => {
    const path = writeInventory(`
pools:
  - name: a
    hosts: [{ name: a1, address: 127.0.0.4 }]
    faults: [{ method: VM.get_all, error: [INTERNAL_ERROR, from the inventory] }]
  - name: b
    hosts: [{ name: b1, address: 127.0.0.5 }, { name: b2, address: 127.0.0.6 }]
`)
    const [a, b] = await start(loadInventoryFile(path))
    const sa = await login(a!.url)
    expect((await rawCall(a!.url, 'VM.get_all', sa)).ErrorDescription).toEqual(['INTERNAL_ERROR', 'from the inventory'])
    const sb = await login(b!.url)
    expect((await rawCall(b!.url, 'host.get_all', sb)).Value).toHaveLength(2)
    expect((await rawCall(b!.url, 'VM.get_all', sa)).ErrorDescription).toEqual(['SESSION_INVALID', sa])
  })

  it('refuses an invalid inventory with the path of the problem', () => {
    const dup = writeInventory('pools: [{ hosts: [{ name: x, address: 127.0.0.1 }, { name: y, address: 127.0.0.1 }] }]')
    expect(() => loadInventoryFile(dup)).toThrow(InventoryError)
    expect(() => loadInventoryFile(dup)).toThrow(/its own address/)
    const size = writeInventory('pools: [{ hosts: [{ name: x, localSrSize: 12 potatoes }] }]')
    expect(() => loadInventoryFile(size)).toThrow(/pools\.0\.hosts\.0\.localSrSize/)
    const extra = writeInventory('pools: [{ hosts: [{ name: x }], colour: blue }]')
    expect(() => loadInventoryFile(extra)).toThrow(/colour/)
  })

  it('VM.start places a VM where its disks are: the affinity host, else the host asked, never one that cannot see an SR', async () => {
    const [sim] = await start(loadInventoryFile(EXAMPLE))
    const url = sim!.url
    const s = await login(url)
    const call = async <T>(method: string, ...args: unknown[]): Promise<T> => {
      const r = await rawCall(url, method, s, ...args)
      if (r.Status !== 'Success') throw new Error(JSON.stringify(r.ErrorDescription))
      return r.Value as T
    }
    const host = (name: string): string => sim!.inventory.hosts.find((h) => h.name === name)!.ref
    const local = (name: string): string => sim!.inventory.hosts.find((h) => h.name === name)!.localSr
    const nfs = sim!.inventory.sharedSrs['NFS storage']!
    // A halted PV guest with a disk on each of `srs`; PV-bootloader stays empty, so no pygrub runs at start.
    async function vmOn(srs: string[], affinity?: string): Promise<string> {
      const vm = await call<string>('VM.clone', sim!.inventory.template, `vm-${Math.random()}`)
      await call('VM.provision', vm)
      await call('VM.set_HVM_boot_policy', vm, '')
      for (const [i, sr] of srs.entries()) {
        const vdi = await call<string>('VDI.create', { name_label: 'd', SR: sr, virtual_size: String(1 << 30), type: 'user', sharable: false, read_only: false, other_config: {} })
        await call('VBD.create', {
          VM: vm,
          VDI: vdi,
          userdevice: String(i),
          bootable: false,
          mode: 'RW',
          type: 'Disk',
          empty: false,
          other_config: {},
          qos_algorithm_type: '',
          qos_algorithm_params: {},
        })
      }
      if (affinity) await call('VM.set_affinity', vm, affinity)
      return vm
    }
    const residentOn = async (vm: string): Promise<string> => {
      await call('VM.start', vm, false, false)
      return call<string>('VM.get_resident_on', vm)
    }
    expect(await residentOn(await vmOn([local('xcp2')]))).toBe(host('xcp2'))
    expect(await residentOn(await vmOn([local('xcp3')], host('xcp2')))).toBe(host('xcp3'))
    expect(await residentOn(await vmOn([nfs], host('xcp3')))).toBe(host('xcp3'))
    expect(await residentOn(await vmOn([nfs]))).toBe(host('xcp1'))
    const nowhere = await vmOn([local('xcp2'), local('xcp3')])
    const r = await rawCall(url, 'VM.start', s, nowhere, false, false)
    expect(r.ErrorDescription).toEqual(['NO_HOSTS_AVAILABLE'])
  })
})
