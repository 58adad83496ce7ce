import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { writeSampleImage } from '../../src/image/write-image.js'

describe('interrupts', () => {
  it('SIGINT during VM.start cancels the task, removes what the run created and exits 130', async () => {
    const sim = await withSimulator()
    const image = join(await mkdtemp(join(tmpdir(), 'int-')), 'img')
    await writeSampleImage(image)
    const before = sim.objects()
    sim.faults.add({ method: 'VM.start', delayMs: 3000 })
    const child = spawn(process.execPath, [BIN, 'freebsd-9', '--host', sim.url, '--image', image], {
      env: { PATH: process.env.PATH ?? '', XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (stderr.includes('Start the VM') && !child.killed) child.kill('SIGINT')
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(130)
    expect(stderr).toContain('error: Interrupted')
    expect(stderr).toMatch(/removed what this run created: VBD .*VIF .*VM FreeBSD-9.0 .*VDI FreeBSD-9.0-vdi/)
    expect(sim.calls()).toContain('task.cancel')
    const after = sim.objects()
    for (const cls of ['VM', 'VDI', 'VBD', 'VIF']) expect(Object.keys(after[cls] ?? {}).sort(), cls).toEqual(Object.keys(before[cls] ?? {}).sort())
    expect(Object.keys(after.task ?? {})).toEqual([])
  })
})
