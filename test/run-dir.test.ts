import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDir } from '../src/run-dir.js'

/** A pid that belonged to a process which has exited (a child run to completion). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!

describe("a run's temporary directory", () => {
  it("removes the same kind left by a run that is gone (kill -9), keeps a live run's and other kinds", async () => {
    // A temporary directory of this test's own (runDir reads os.tmpdir(), that is TMPDIR):
    // in the shared one, any run in another vitest worker (a drive, a convert) removes the
    // planted dead-pid directories first, and this run then finds none to remove.
    const base = await mkdtemp(join(tmpdir(), 'run-dir-'))
    const saved = process.env.TMPDIR
    process.env.TMPDIR = base
    const dead = join(base, `xcp-provision-drive-${deadPid()}-AbC123`)
    const live = join(base, `xcp-provision-drive-${process.ppid}-XyZ789`)
    const other = join(base, `xcp-provision-bootcode-${deadPid()}-QwE456`)
    await Promise.all([dead, live, other].map((d) => mkdir(d, { recursive: true })))
    try {
      const { dir, removedStale } = await runDir('drive')
      expect(dir.startsWith(join(base, `xcp-provision-drive-${process.pid}-`))).toBe(true)
      expect(removedStale).toBe(1)
      expect(existsSync(dead)).toBe(false)
      expect(existsSync(live)).toBe(true)
      expect(existsSync(other)).toBe(true)
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
      await rm(base, { recursive: true, force: true })
    }
  })
})
