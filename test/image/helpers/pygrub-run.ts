import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tool } from './tools.js'

export type RealPygrub = { ok: true; kernel: Buffer; output: string } | { ok: false; message: string; stderr: string }

let runs = 0

/**
 * Runs Debian's pygrub the way libxl does (quiet, simple output, a given output
 * directory and an --output file that must already exist) and returns the extracted
 * kernel, or pygrub's last stderr line without the Python exception class.
 */
export function realPygrub(image: string, workDir: string, args: readonly string[]): Promise<RealPygrub> {
  const pygrub = tool('pygrub')
  const dir = join(workDir, `pygrub-${++runs}`)
  mkdirSync(dir, { recursive: true })
  const out = join(dir, 'out.txt')
  writeFileSync(out, '')
  const argv = ['-q', '--output-format=simple', `--output-directory=${dir}`, `--output=${out}`, ...args, image]
  return new Promise((resolve, reject) => {
    execFile(pygrub, argv, { encoding: 'utf8', timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(err)
      if (err === null) {
        const output = readFileSync(out, 'utf8')
        const kernelPath = /^kernel (\S+)$/m.exec(output)?.[1]
        if (kernelPath === undefined) return reject(new Error(`no kernel line in pygrub output: ${output}`))
        return resolve({ ok: true, kernel: readFileSync(kernelPath), output })
      }
      const last = stderr.trim().split('\n').pop() ?? ''
      resolve({ ok: false, message: last.replace(/^\w+(\.\w+)*(Error|Exception): /, ''), stderr })
    })
  })
}
