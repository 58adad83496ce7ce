import { spawn } from 'node:child_process'

/** What a finished process left: its exit code (null when a signal ended it) and its whole output. */
export interface ProcessResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** The child's whole environment: nothing of ours leaks in unless the caller passes it. */
  env: Record<string, string>
  cwd?: string
}

/**
 * Runs a command to completion as a user would: a real process, stdin closed, stdout and
 * stderr collected. The one place the benches and the tests spawn a command and wait for
 * it (the soak drivers, the upload measurements and test/support/cli.ts all used to carry
 * their own copy).
 */
export function runProcess(file: string, args: readonly string[], options: RunOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
