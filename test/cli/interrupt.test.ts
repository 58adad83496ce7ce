import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, runDirs } from '../support/cli.js'
import { withSimulator } from '../support/simulator.js'
import { until } from '../support/until.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'

describe('interrupts', () => {
  it('SIGINT during VM.start cancels the task, removes what the run created and exits 130', async () => {
    const sim = await withSimulator()
    const image = join(await mkdtemp(join(tmpdir(), 'int-')), 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    const before = sim.objects()
    // VM.start stays in flight until the interrupt has led to task.cancel.
    const hold = sim.faults.hold('VM.start')
    const child = spawn(process.execPath, [BIN, 'freebsd-9', '--host', sim.url, '--image', image], {
      env: { PATH: process.env.PATH ?? '', ...runDirs(), XAPI_USER: sim.credentials.user, XAPI_PASSWORD: sim.credentials.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    // A run that dies before VM.start fails the assertions below instead of waiting out the test's timeout.
    await Promise.race([hold.reached, closed])
    child.kill('SIGINT')
    await until('the run to cancel its VM.start task', () => sim.calls().includes('task.cancel') || child.exitCode !== null)
    hold.release()
    const code = await closed
    expect(code, stderr).toBe(130)
    expect(stderr).toContain('error: Interrupted')
    expect(stderr).toMatch(/removed what this run created: VBD .*VIF .*VM FreeBSD-9.0 .*VDI FreeBSD-9.0-vdi/)
    expect(sim.calls()).toContain('task.cancel')
    const after = sim.objects()
    for (const cls of ['VM', 'VDI', 'VBD', 'VIF']) expect(Object.keys(after[cls] ?? {}).sort(), cls).toEqual(Object.keys(before[cls] ?? {}).sort())
    expect(Object.keys(after.task ?? {})).toEqual([])
  })
})
