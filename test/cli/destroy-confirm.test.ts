import { describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { terminalConfirm } from '../../src/cli/confirm.js'

/** A stream that says it is a terminal, as process.stdin/stderr do on one. */
function tty(): PassThrough & { isTTY: boolean } {
  return Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined })
}

describe('the y/N question on a terminal (used by rollout, provision and destroy)', () => {
  it('is not asked without a terminal on both ends: the library then refuses unless --yes', () => {
    const pipe = Object.assign(new PassThrough(), { isTTY: false })
    expect(terminalConfirm(pipe as unknown as NodeJS.ReadStream, tty() as unknown as NodeJS.WriteStream)).toBeUndefined()
    expect(terminalConfirm(tty() as unknown as NodeJS.ReadStream, pipe as unknown as NodeJS.WriteStream)).toBeUndefined()
  })

  for (const [answer, agreed] of [
    ['y', true],
    ['YES', true],
    ['', false],
    ['n', false],
    ['yep', false],
  ] as const) {
    it(`lists the disruptive actions and takes "${answer}" as ${agreed ? 'yes' : 'no'}`, async () => {
      const input = tty()
      const output = tty()
      let shown = ''
      output.on('data', (b: Buffer) => (shown += b.toString()))
      const confirm = terminalConfirm(input as unknown as NodeJS.ReadStream, output as unknown as NodeJS.WriteStream)!
      const asked = confirm(['web-2 (pool p1, xcp1) is running: shut down and started again to change VCPUs_max'])
      setTimeout(() => input.write(`${answer}\n`), 20)
      expect(await asked).toBe(agreed)
      expect(shown).toContain('This halts, reboots or replaces VMs:\n  ! web-2 (pool p1, xcp1) is running')
      expect(shown).toContain('[y/N]')
    })
  }
})
