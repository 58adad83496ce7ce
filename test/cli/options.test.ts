import { describe, expect, it } from 'vitest'
import { COMMANDS, commandNamed } from '../../src/cli/commands.js'
import { commandHelp, overviewHelp } from '../../src/cli/help.js'
import { parseCommand, splitCommand } from '../../src/cli/parse.js'
import { closest, editDistance } from '../../src/cli/suggest.js'
import { UserError } from '../../src/errors.js'

/** The UserError a parse throws (the test fails if it does not throw one). */
function refusal(argv: string[]): UserError {
  try {
    const { command, args } = splitCommand(argv)
    parseCommand(command, args)
  } catch (e) {
    if (e instanceof UserError) return e
    throw e
  }
  throw new Error(`${argv.join(' ')} was accepted`)
}

describe('per-command options (docs/cli.md)', () => {
  it('finds the command after leading options, and reads any other word as the recipe', () => {
    expect(splitCommand(['--host', 'sim', 'freebsd-9']).command.name).toBe('provision')
    const r = splitCommand(['--json', 'rollout', 'fleet.yaml', '--dry-run'])
    expect(r.command.name).toBe('rollout')
    expect(parseCommand(r.command, r.args)).toMatchObject({ positionals: ['fleet.yaml'], values: { json: true, 'dry-run': true } })
    // "sim" as --host's value is not the sim command.
    expect(parseCommand(splitCommand(['freebsd-9', '--host', 'sim']).command, ['freebsd-9', '--host', 'sim']).values.host).toBe('sim')
  })

  it('a typo is refused with the option it was probably meant to be', () => {
    const e = refusal(['freebsd-9', '--hots', 'sim'])
    expect(e.code).toBe('bad-argument')
    expect(e.info.fix).toContain('did you mean --host?')
    expect(refusal(['rollout', 'f.yaml', '--dryrun']).info.fix).toContain('--dry-run')
    expect(refusal(['check-image', 'x.img', '--flavor', 'xcp-ng']).info.fix).toContain('--flavour')
  })

  it("another command's option is refused, naming whose it is, with what this command takes instead", () => {
    const e = refusal(['rollout', 'f.yaml', '--fix-offset'])
    expect(e.info.why).toBe('--fix-offset is an option of provision <recipe>, not of provision rollout')
    expect(e.info.fix).toContain('bootloader_args')
    expect(e.info.fix).not.toMatch(/--fix-offset/)
    expect(refusal(['sim', '--host', 'x']).info.why).toMatch(/is an option of provision <recipe> and .*provision convert, not of provision sim/)
    expect(refusal(['check-image', 'x.img', '--verify']).code).toBe('bad-argument')
  })

  it('a missing value or a value given to a flag is a bad argument too', () => {
    expect(refusal(['freebsd-9', '--host']).code).toBe('bad-argument')
    expect(refusal(['freebsd-9', '--json=yes']).code).toBe('bad-argument')
  })

  it('every command has help listing each of its options, with examples', () => {
    for (const c of COMMANDS) {
      const text = commandHelp(c)
      for (const name of Object.keys(c.options)) expect(text, `${c.name} --${name}`).toContain(`--${name}`)
      expect(text).toContain('Examples:')
      expect(overviewHelp()).toContain(c.summary)
    }
    expect(commandHelp(commandNamed('rollout')!)).not.toContain('--fix-offset')
  })

  it('did-you-mean counts typos as a person does (a swap is one edit)', () => {
    expect(editDistance('--hots', '--host')).toBe(1)
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(closest('--dry', ['--dry-run', '--json'])).toBe('--dry-run')
    expect(closest('--zzzzzz', ['--host', '--name'])).toBeUndefined()
  })
})
