import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { UserError, EXIT } from '../errors.js'

/**
 * Where the password comes from, first match wins: --password-file, XAPI_PASSWORD
 * (environment or .env), then a prompt when stdin and stderr are terminals. Never from
 * an argument: process arguments are visible to every user of the machine.
 */
export async function resolvePassword(opts: { file?: string | undefined; env?: string | undefined; user: string; prompt?: boolean }): Promise<string | undefined> {
  if (opts.file) {
    let text: string
    try {
      text = await readFile(opts.file, 'utf8')
    } catch (e) {
      throw new UserError({
        what: `Cannot read --password-file ${opts.file}`,
        why: (e as NodeJS.ErrnoException).code ?? 'read failed',
        fix: 'give a readable file holding the password on its first line',
        code: 'credentials-missing',
        exitCode: EXIT.usage,
      })
    }
    const first = text.split(/\r?\n/)[0] ?? ''
    if (!first)
      throw new UserError({
        what: `--password-file ${opts.file} is empty`,
        why: 'its first line holds no password',
        fix: 'write the password on the first line',
        code: 'credentials-missing',
        exitCode: EXIT.usage,
      })
    return first
  }
  if (opts.env) return opts.env
  if (opts.prompt !== false && process.stdin.isTTY && process.stderr.isTTY) return prompt(`Password for ${opts.user}: `)
  return undefined
}

/** Reads a line without echoing it. */
function prompt(question: string): Promise<string> {
  process.stderr.write(question)
  const muted = new Writable({ write: (_chunk, _enc, cb) => cb() })
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true })
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      rl.close()
      process.stderr.write('\n')
      resolve(line)
    })
  })
}
