import { createInterface } from 'node:readline/promises'
import type { Confirm } from '../provision/consent.js'

/**
 * The consent question on a terminal, as Terraform's apply asks it: the disruptive actions,
 * then y/N on stderr (stdout stays the result). Only "y" or "yes" agrees. No terminal on
 * both ends (CI, a pipe) → no question: the library refuses the plan unless --yes was given.
 */
export function terminalConfirm(stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr): Confirm | undefined {
  if (!stdin.isTTY || !stderr.isTTY) return undefined
  return async (lines) => {
    stderr.write(`\nThis halts, reboots or replaces VMs:\n${lines.map((l) => `  ! ${l}\n`).join('')}`)
    const rl = createInterface({ input: stdin, output: stderr, terminal: true })
    try {
      const answer = await rl.question('Apply these changes? Only "y" or "yes" is accepted [y/N]: ')
      return /^\s*y(es)?\s*$/i.test(answer)
    } finally {
      rl.close()
    }
  }
}
