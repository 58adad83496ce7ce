import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, runCli } from '../support/cli.js'

/** What `provision --host sim` leaves in the temporary directory it is given. */
const ours = async (tmp: string): Promise<string[]> => (await readdir(tmp)).filter((n) => n.startsWith('xcp-provision'))

describe('the sample image of --host sim', () => {
  it('does not stay in the temporary directory after a kill -9: the next run removes it, and its own', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'sample-leak-'))
    try {
      const env = { TMPDIR: tmp }
      const child = spawn(process.execPath, [BIN, 'freebsd-9', '--host', 'sim'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        // The image is written before the first step: kill once the run is under way.
        if (stderr.includes('Create the VDI')) child.kill('SIGKILL')
      })
      await new Promise((resolve) => child.on('close', resolve))
      expect(await ours(tmp), stderr).toHaveLength(1)
      // Another process's directory, alive: never touched. (This test process is alive.)
      const alive = join(tmp, `xcp-provision-sample-${process.pid}-abcdef`)
      await mkdir(alive)
      await writeFile(join(alive, 'freebsd-sample.img'), 'x')
      const again = await runCli(['freebsd-9', '--host', 'sim', '--json'], env)
      expect(again.code, again.stderr).toBe(0)
      expect(await ours(tmp)).toEqual([`xcp-provision-sample-${process.pid}-abcdef`])
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })

  it('a directory named like ours but of a process that is gone is removed; one of another shape is not', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'sample-leak-'))
    try {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!
      await mkdir(join(tmp, `xcp-provision-sample-${dead}-Zz09aB`))
      await mkdir(join(tmp, `xcp-provision-sample-${dead}-toolong1`))
      await mkdir(join(tmp, 'xcp-provision-elsewhere'))
      const r = await runCli(['freebsd-9', '--host', 'sim', '--json'], { TMPDIR: tmp })
      expect(r.code, r.stderr).toBe(0)
      expect((await ours(tmp)).sort()).toEqual(['xcp-provision-elsewhere', `xcp-provision-sample-${dead}-toolong1`])
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })
})
