import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withSimulator, connectTo } from '../support/simulator.js'
import { spawnSimulator } from '../support/cli.js'
import { login, rawCall } from '../support/rpc.js'
import { until } from '../support/until.js'
import { readStateFile, StateFileError } from '../../mocks/state-file.js'

describe('saving and reloading the simulator state', () => {
  it('restores objects with their refs and uuids, and VDI contents, but no sessions', async () => {
    const first = await withSimulator()
    const x = await connectTo(first)
    const vm = await x.callAsync<string>('VM.clone', first.inventory.template, 'kept')
    const vdi = await x.call<string>('VDI.create', { name_label: 'data', SR: first.inventory.localSr, virtual_size: 4 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })
    first.state.disks.get(vdi)!.write(1 << 20, Buffer.from('hello'))
    const saved = JSON.parse(JSON.stringify(first.save())) as ReturnType<typeof first.save>
    expect(Object.keys(saved.objects)).not.toContain('session')

    const second = await withSimulator({ restore: saved })
    expect(second.inventory.template).toBe(first.inventory.template)
    expect(second.inventory.localSr).toBe(first.inventory.localSr)
    const s = await login(second.url)
    const before = await rawCall(first.url, 'VM.get_record', await login(first.url), vm)
    expect((await rawCall(second.url, 'VM.get_record', s, vm)).Value).toEqual(before.Value)
    expect(second.readVdi(vdi, 1 << 20, 5).toString()).toBe('hello')
    expect((await rawCall(second.url, 'SR.get_VDIs', s, second.inventory.localSr)).Value).toEqual([vdi])
    expect((await rawCall(second.url, 'session.logout', x.sessionId)).ErrorDescription).toEqual(['SESSION_INVALID', x.sessionId])
  })

  it('provision sim --state-file writes on SIGTERM and reads it back on the next start', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'state-')), 'sim.json')
    const a = await spawnSimulator({}, ['--state-file', file])
    const s = await login(a.url)
    const [sr] = (await rawCall(a.url, 'SR.get_by_name_label', s, 'Local storage')).Value as string[]
    const vdi = (await rawCall(a.url, 'VDI.create', s, { name_label: 'survivor', SR: sr, virtual_size: 1 << 20, type: 'user', sharable: false, read_only: false, other_config: {} })).Value as string
    expect(await a.stop('SIGTERM')).toBe(0)
    expect(existsSync(file)).toBe(true)
    const b = await spawnSimulator({}, ['--state-file', file])
    try {
      const s2 = await login(b.url)
      expect((await rawCall(b.url, 'VDI.get_by_name_label', s2, 'survivor')).Value).toEqual([vdi])
    } finally {
      await b.stop('SIGTERM')
    }
    expect(Object.keys(readStateFile(file)!.pools[0]!.objects.VDI ?? {})).toEqual([vdi])
  })

  it('provision sim --state-file survives a kill it cannot catch: the file is rewritten while objects change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-'))
    const file = join(dir, 'sim.json')
    const a = await spawnSimulator({}, ['--state-file', file])
    const s = await login(a.url)
    const [sr] = (await rawCall(a.url, 'SR.get_by_name_label', s, 'Local storage')).Value as string[]
    const vdi = (await rawCall(a.url, 'VDI.create', s, { name_label: 'crash survivor', SR: sr, virtual_size: 1 << 20, type: 'user', sharable: false, read_only: false, other_config: {} }))
      .Value as string
    await until('the periodic save', () => existsSync(file) && JSON.stringify(readStateFile(file)).includes(vdi), 15_000)
    expect(await a.stop('SIGKILL')).toBe(null)
    expect(Object.keys(readStateFile(file)!.pools[0]!.objects.VDI ?? {})).toContain(vdi)
    // Only the state file: no temporary left beside it.
    expect(readdirSync(dir)).toEqual(['sim.json'])
  }, 30_000)

  it('refuses a file that is not a state file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'state-')), 'bad.json')
    writeFileSync(file, '{"version":2}')
    expect(() => readStateFile(file)).toThrow(StateFileError)
    expect(readFileSync(file, 'utf8')).toBe('{"version":2}')
  })
})
