import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDir } from '../src/run-dir.js'

/** A pid that belonged to a process which has exited (a child run to completion). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!

describe("a run's temporary directory", () => {
  it("removes the same kind left by a run that is gone (kill -9), keeps a live run's and other kinds", async () => {
    const dead = join(tmpdir(), `xcp-provision-drive-${deadPid()}-AbC123`)
    const live = join(tmpdir(), `xcp-provision-drive-${process.ppid}-XyZ789`)
    const other = join(tmpdir(), `xcp-provision-bootcode-${deadPid()}-QwE456`)
    await Promise.all([dead, live, other].map((d) => mkdir(d, { recursive: true })))
    try {
      const { dir, removedStale } = await runDir('drive')
      expect(dir.startsWith(join(tmpdir(), `xcp-provision-drive-${process.pid}-`))).toBe(true)
      expect(removedStale).toBeGreaterThanOrEqual(1)
      expect(existsSync(dead)).toBe(false)
      expect(existsSync(live)).toBe(true)
      expect(existsSync(other)).toBe(true)
      await rm(dir, { recursive: true, force: true })
    } finally {
      await Promise.all([dead, live, other].map((d) => rm(d, { recursive: true, force: true })))
    }
  })
})
