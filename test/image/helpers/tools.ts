import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Real tools used as oracles. A missing tool is a failure with the install command,
 * never a skip: CI installs them, and a silently skipped oracle proves nothing.
 */
const TOOLS = {
  pygrub: { paths: ['/usr/bin/pygrub', '/usr/lib/xen-4.17/bin/pygrub'], pkg: 'xen-utils-4.17' },
  makefs: { paths: ['/usr/sbin/makefs', '/usr/bin/makefs'], pkg: 'makefs' },
  sfdisk: { paths: ['/usr/sbin/sfdisk', '/sbin/sfdisk', '/usr/bin/sfdisk'], pkg: 'fdisk' },
  'grub-fstest': { paths: ['/usr/bin/grub-fstest'], pkg: 'grub-common' },
} as const

export type ToolName = keyof typeof TOOLS

export function tool(name: ToolName): string {
  const t = TOOLS[name]
  const found = t.paths.find((p) => existsSync(p))
  if (found === undefined) {
    throw new Error(`${name} not found (looked at ${t.paths.join(', ')}): run \`apt-get install -y ${t.pkg}\``)
  }
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
