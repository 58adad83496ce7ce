import { describe, expect, it } from 'vitest'
import { connectTo, withSimulator } from '../support/simulator.js'
import * as VDI from '../../src/xapi/vdi.js'

const NULL = 'OpaqueRef:NULL'

describe("the simulator's VDI.snapshot and VDI.copy, as xapi_vdi.ml has them", () => {
  it('a snapshot is a read-only copy that names its parent, and the parent lists it until it is destroyed', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const sr = Object.entries(sim.objects().SR ?? {}).find(([, r]) => r.content_type !== 'iso')![0]
    const vdi = await VDI.create(x, { name_label: 'd', name_description: '', SR: sr, virtual_size: 4 * 1024 * 1024, type: 'user', sharable: false, read_only: false, other_config: { k: 'v' } })
    sim.state.disks.get(vdi)!.write(512, Buffer.from('before'))
    const snap = await VDI.snapshot(x, vdi)
    const s = sim.objects().VDI![snap]!
    expect([s.is_a_snapshot, s.snapshot_of, s.read_only, s.other_config]).toEqual([true, vdi, true, { k: 'v' }])
    expect(sim.objects().VDI![vdi]!.snapshots).toEqual([snap])
    sim.state.disks.get(vdi)!.write(512, Buffer.from('after!'))
    await expect(VDI.copy(x, vdi, sr, NULL, snap)).rejects.toMatchObject({ code: 'VDI_READONLY' })
    expect(await VDI.copy(x, snap, sr, NULL, vdi)).toBe(vdi)
    expect(sim.readVdi(vdi, 512, 6).toString()).toBe('before')
    const fresh = await VDI.copy(x, snap, sr, NULL, NULL)
    expect([sim.objects().VDI![fresh]!.read_only, sim.readVdi(fresh, 512, 6).toString()]).toEqual([false, 'before'])
    const small = await VDI.create(x, { name_label: 's', name_description: '', SR: sr, virtual_size: 2 * 1024 * 1024, type: 'user', sharable: false, read_only: false, other_config: {} })
    await expect(VDI.copy(x, vdi, sr, NULL, small)).rejects.toMatchObject({ code: 'VDI_TOO_SMALL' })
    await VDI.destroy(x, snap)
    expect(sim.objects().VDI![vdi]!.snapshots).toEqual([])
  })

  it('a sharable VDI cannot be snapshotted', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const sr = Object.entries(sim.objects().SR ?? {}).find(([, r]) => r.content_type !== 'iso')![0]
    const vdi = await VDI.create(x, { name_label: 'd', name_description: '', SR: sr, virtual_size: 2 * 1024 * 1024, type: 'user', sharable: true, read_only: false, other_config: {} })
    await expect(VDI.snapshot(x, vdi)).rejects.toMatchObject({ code: 'VDI_IS_SHARABLE', params: [vdi] })
  })
})
