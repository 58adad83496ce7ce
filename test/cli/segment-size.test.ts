import { describe, expect, it } from 'vitest'
import { commandHelp } from '../../src/cli/help.js'
import { commandNamed } from '../../src/cli/commands.js'
import { MIN_SEGMENT_BYTES, segmentSize } from '../../src/cli/segment-size.js'
import { UserError } from '../../src/errors.js'

/** The UserError segmentSize throws for `input` (the test fails if it accepts it). */
function refusal(input: string): UserError {
  try {
    segmentSize(input)
  } catch (e) {
    if (e instanceof UserError) return e
    throw e
  }
  throw new Error(`--segment-size ${input} was accepted`)
}

describe('--segment-size (docs/upload.md, Segments)', () => {
  it('takes a binary size from 1 MiB up; absent, the library keeps its default', () => {
    expect(segmentSize(undefined)).toBeUndefined()
    expect(segmentSize('64MiB')).toBe(64 * 1024 * 1024)
    expect(segmentSize('1 GiB')).toBe(1024 ** 3)
    expect(segmentSize(String(MIN_SEGMENT_BYTES))).toBe(MIN_SEGMENT_BYTES)
  })

  it('refuses a non-size, a decimal unit and a size under 1 MiB, saying what, why and how', () => {
    const e = refusal('lots')
    expect(e.code).toBe('bad-argument')
    expect(e.info).toMatchObject({ what: '--segment-size lots is not a segment size', why: '"lots" is not a size; write bytes or a number with KiB, MiB, GiB or TiB' })
    expect(e.info.fix).toContain('--segment-size 64MiB')
    expect(refusal('64MB').info.why).toContain('did you mean MiB?')
    expect(refusal('512KiB').info.why).toBe('a segment holds at least 1 MiB of data')
  })

  it("is in provision's help, which is made from the table the parser takes", () => {
    expect(commandHelp(commandNamed('provision')!)).toMatch(/--segment-size <size>\s+data per upload segment/)
  })
})
