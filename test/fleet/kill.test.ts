import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { BIN, runCli, runDirs } from '../support/cli.js'
import { until } from '../support/until.js'
import { RolloutResult } from '../../src/fleet/types.js'
import { ENV, fleetOn, hosts } from './support.js'

describe('provision rollout killed with -9 while it prepares, then run again', () => {
  it('uploads into the half-uploaded base instead of leaking it, and removes the half-built template', async () => {
    const [sim] = await hosts(1)
    const file = join(await mkdtemp(join(tmpdir(), 'fleet-kill-')), 'fleet.yaml')
    await writeFile(file, stringify(await fleetOn([sim!], 'web-{1..3}')))
    // The upload's task.create and the template's VM.provision are held, so the process
    // dies with the base VDI created but not uploaded and the template cloned but not done.
    // Holds, not delays of 1.5 s: on a loaded machine the second call could come after the
    // first one's delay had run out and its upload had gone on.
    const upload = sim!.faults.hold('task.create', { maxMs: 30_000 })
    const template = sim!.faults.hold('VM.provision', { maxMs: 30_000 })
    const child = spawn(process.execPath, [BIN, 'rollout', file], { env: { PATH: process.env.PATH ?? '', ...runDirs(), ...ENV }, stdio: 'ignore' })
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
    await Promise.race([Promise.all([upload.reached, template.reached]), closed])
    child.kill('SIGKILL')
    await closed
    // The host finishes the held calls after the client died.
    upload.release()
    template.release()
    await until('the held VM.provision to finish on the host', () => Object.values(sim!.objects().task ?? {}).some((t) => t.name_label === 'Async.VM.provision' && t.status !== 'pending'))
    sim!.faults.clear()
    const before = sim!.objects()
    const partial = Object.entries(before.VDI!).filter(([, v]) => (v.other_config as Record<string, string>)['xcp-provision:base-upload'])
    expect(partial).toHaveLength(1)
    const halfBuilt = Object.values(before.VM!).filter((v) => String(v.name_label).endsWith('[xcp-provision: incomplete]'))
    expect(halfBuilt).toHaveLength(1)

    const again = await runCli(['rollout', file, '--json'], ENV)
    expect(again.code, again.stderr).toBe(0)
    const r = RolloutResult.parse(JSON.parse(again.stdout))
    expect(r.vms.map((v) => v.state)).toEqual(['created', 'created', 'created'])
    expect(r.bases.map((b) => [b.action, b.vdi_uuid])).toEqual([['resume', partial[0]![1].uuid]])

    const after = sim!.objects()
    // One base (the resumed VDI, now tagged with the hash and no longer marked) and a clone per VM.
    const base = after.VDI![partial[0]![0]]!.other_config as Record<string, string>
    expect(base['xcp-provision:image-sha256']).toBeDefined()
    expect(base['xcp-provision:base-upload']).toBeUndefined()
    expect(Object.keys(after.VDI!).length - Object.keys(before.VDI!).length).toBe(3)
    expect(Object.values(after.VM!).filter((v) => String(v.name_label).endsWith('[xcp-provision: incomplete]'))).toEqual([])
    expect(Object.values(after.VM!).filter((v) => v.is_a_template && String(v.name_label).startsWith('xcp-provision'))).toHaveLength(1)
    const tasks = Object.values(after.task ?? {})
    expect(tasks.filter((t) => t.status === 'pending' || String(t.name_label).startsWith('xcp-provision:'))).toEqual([])
  })
})
