import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, UserError, errorCode, exitCodeOf } from '../../src/errors.js'
import { XapiError } from '../../src/xapi/errors.js'
import { bytes, duration } from '../../src/cli/units.js'
import { printable, useColour } from '../../src/cli/output.js'

describe('error codes (docs/cli.md)', () => {
  it("docs/cli.md's table lists exactly ERROR_CODES, with the same exit codes", () => {
    const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')
    const section = doc.slice(doc.indexOf('## Error codes'))
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])])
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([c, v]) => [c, v.exit]))
  })

  it("a UserError's code: the one given, else XAPI's from its cause, else the exit code's", () => {
    expect(new UserError({ what: 'a', why: 'b', fix: 'c', code: 'name-taken' }).code).toBe('name-taken')
    const xapi = new XapiError('SR_BACKEND_FAILURE_44', ['', 'no space', ''], 'VDI.create')
    expect(new UserError({ what: 'a', why: 'b', fix: 'c' }, { cause: xapi }).code).toBe('SR_BACKEND_FAILURE_44')
    expect(errorCode({ what: 'a', why: 'b', fix: 'c', exitCode: 2 })).toBe('bad-argument')
    expect(exitCodeOf({ what: 'a', why: 'b', fix: 'c', code: 'recipe-not-found' })).toBe(3)
    expect(exitCodeOf({ what: 'a', why: 'b', fix: 'c', code: 'VM_BAD_POWER_STATE' })).toBe(1)
  })
})

describe('text output', () => {
  it('sizes and durations in human units', () => {
    expect(bytes(10 * 1024 ** 3)).toBe('10 GiB')
    expect(bytes(1536)).toBe('1.50 KiB')
    expect(bytes(512)).toBe('512 bytes')
    expect(duration(1534)).toBe('1.5 s')
    expect(duration(125_000)).toBe('2 min 05 s')
  })

  it('colour only on a terminal, without NO_COLOR, and not with TERM=dumb; painted after neutralising', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream
    expect(useColour(tty, { TERM: 'xterm' })).toBe(true)
    expect(useColour(tty, { TERM: 'xterm', NO_COLOR: '1' })).toBe(false)
    expect(useColour(tty, { TERM: 'dumb' })).toBe(false)
    expect(useColour({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false)
    // A host's escape stays visible text; only the CLI's own fixed colour is added.
    expect(printable('error: bad \x1b[31mname\n', true, true)).toBe('\x1b[1;31merror:\x1b[0m bad \\u001b[31mname\n')
  })
})
