import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeMissing, findOracle, type OracleName } from '../../support/oracle-tools.js'

/**
 * Real tools used as oracles (the table, with each tool's Debian package, is
 * test/support/oracle-tools.ts). Tests that call these declare the tool with
 * needs('<tool>') (test/support/oracles.ts), so a machine without it skips them with one
 * summary line, and CI fails instead. Called anyway, a missing tool throws the install command.
 */
export type ToolName = OracleName

export function tool(name: ToolName): string {
  const found = findOracle(name)
  if (found === undefined) throw new Error(`${describeMissing([name])} (not on PATH nor in sbin)`)
  return found
}

export interface RunResult {
  status: number
  stdout: string
  stderr: string
}

export function run(name: ToolName, args: readonly string[], input?: string): RunResult {
  const r = spawnSync(tool(name), args, { encoding: 'utf8', input, timeout: 60_000 })
  if (r.error !== undefined) throw r.error
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export function runOk(name: ToolName, args: readonly string[], input?: string): string {
  return execFileSync(tool(name), args, { encoding: 'utf8', input, timeout: 60_000, stdio: ['pipe', 'pipe', 'pipe'] })
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
