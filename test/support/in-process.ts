import { Writable } from 'node:stream'
import { loadRecipe } from '../../src/recipe/load.js'
import { provision } from '../../src/provision/run.js'
import { printError, printResult } from '../../src/cli/output.js'
import { progressRenderer } from '../../src/cli/progress.js'
import type { ProvisionOptions } from '../../src/provision/types.js'
import type { CliResult } from './cli.js'

/**
 * The upload retry policy for in-process runs: the production one waits 1–2 s before a
 * retry (it rides out a toolstack restart); what a test checks is that the retry
 * happens and succeeds, not how long it waits.
 */
export const FAST_RETRY = { retries: 4, minTimeoutMs: 5, maxTimeoutMs: 20 }

/** Collects what is written, as the CLI's stdout or stderr would carry it. */
function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = ''
  const w = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString()
      done()
    },
  })
  // progressRenderer asks only isTTY and write(): a plain Writable stands in for a non-TTY stderr.
  return { stream: Object.assign(w, { isTTY: false }) as unknown as NodeJS.WriteStream, text: () => text }
}

export interface InProcessRun {
  /** Recipe name or file, as the CLI's first argument. */
  recipe: string
  url: string
  user: string
  password: string
  image: string
  name?: string
  json?: boolean
  extra?: Partial<Omit<ProvisionOptions, 'recipe' | 'url' | 'user' | 'password' | 'image' | 'onEvent'>>
}

/**
 * The CLI's provision command without the process start: the same library call, the
 * same rendering of events, result and error, and the exit code the CLI's printError
 * picks. For fault rows that test the library's behaviour; a few rows per behaviour
 * still spawn the real CLI (test/support/cli.ts). Not for what a secret looks like in the
 * output: the CLI registers XAPI_PASSWORD for redaction before it runs (src/cli/main.ts),
 * this does not, and the registry is the worker's, shared by every file it runs.
 */
export async function provisionInProcess(r: InProcessRun): Promise<CliResult> {
  const stdout = sink()
  const stderr = sink()
  const out = { json: Boolean(r.json), stdout: stdout.stream, stderr: stderr.stream }
  let code: number
  try {
    const { recipe } = await loadRecipe(r.recipe)
    const result = await provision({
      recipe,
      url: r.url,
      user: r.user,
      password: r.password,
      image: r.image,
      ...(r.name ? { name: r.name } : {}),
      upload: { retry: FAST_RETRY },
      onEvent: progressRenderer(stderr.stream, Boolean(r.json)),
      ...r.extra,
    })
    printResult(out, result)
    code = 0
  } catch (e) {
    code = printError(out, e)
  }
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}
