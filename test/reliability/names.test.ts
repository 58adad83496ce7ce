import { describe, expect, it } from 'vitest'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../support/cli.js'
import { RecipeSchema, VmNameSchema } from '../../src/recipe/schema.js'
import { FleetSchema } from '../../src/fleet/schema.js'
import { printable } from '../../src/cli/output.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { SMALL_PV } from '../support/sample-images.js'

const ESC = '\x1b'
/** Sets the terminal's title, then paints the rest red: what a hostile name would do to a terminal. */
const HOSTILE = `web${ESC}]0;pwned\x07${ESC}[31m-01`

describe('names: one rule for the recipe, --name and fleet files', () => {
  it('the rule: 1 to 255 characters, no control characters or bidi overrides', () => {
    expect(VmNameSchema.safeParse('web-01').success).toBe(true)
    expect(VmNameSchema.safeParse('é-ü ☃ 名前').success).toBe(true)
    for (const bad of ['', 'x'.repeat(256), HOSTILE, 'a\nb', 'tab\there', 'csi\u009bm', 'rtl\u202eevil']) expect(VmNameSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
  })

  it('applies to the recipe name and to every fleet name or pattern', () => {
    const recipe = RecipeSchema.shape.name
    expect(recipe.safeParse(HOSTILE).success).toBe(false)
    const fleet = (names: unknown): boolean => FleetSchema.safeParse({ name: 'f', pools: { lab: { url: 'https://xcp1/' } }, groups: [{ recipe: 'freebsd-9', pools: 'lab', names }] }).success
    expect(fleet('web-{01..03}')).toBe(true)
    expect(fleet(HOSTILE)).toBe(false)
    expect(fleet(['ok', 'x'.repeat(256)])).toBe(false)
  })

  it.each([
    ['256 characters', 'n'.repeat(256), /at most 255 characters \(it has 256 characters\)/],
    ['an escape sequence', HOSTILE, /must not contain control characters/],
  ])('--name with %s: exit 2 before any XAPI call, and the name is not echoed raw', async (_, name, why) => {
    const r = await runCli(['freebsd-9', '--host', 'sim', '--name', name])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('is not a usable VM name')
    expect(r.stderr).toMatch(why)
    expect(r.stderr).not.toContain(ESC)
    expect(r.stderr).not.toContain('\x07')
  })
})

describe('control characters in everything printed', () => {
  it("printable(): controls become visible text, secrets aside; on a terminal only the CLI's own drawing sequences pass", () => {
    expect(printable(`a${ESC}[31mb\u009bc\u202ed\re\n\t`)).toBe('a\\u001b[31mb\\u009bc\\u202ed\\u000de\n\t')
    expect(printable(`${ESC}[2K\r… step ${ESC}[3A`, true)).toBe(`${ESC}[2K\r… step ${ESC}[3A`)
    expect(printable(`${ESC}[2K\rname ${ESC}]0;t\x07`, true)).toBe(`${ESC}[2K\rname \\u001b]0;t\\u0007`)
    // Inside --json output the visible form is a JSON escape of the same character: still valid JSON.
    expect(JSON.parse(printable(JSON.stringify({ n: 'x\u009by' })))).toEqual({ n: 'x\u009by' })
  })

  it('a value from elsewhere (a recipe, a host) that holds escapes is printed neutralised, in text and in --json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'names-'))
    const recipe = (await readFile(new URL('../../recipes/freebsd-9.yaml', import.meta.url), 'utf8')).replace('template: Other install media', `template: "No such${'\\e'}[2J${'\\u009b'}31m template"`)
    const file = join(dir, 'r.yaml')
    await writeFile(file, recipe)
    const image = join(dir, 'img')
    await writeSampleImage(image, { diskSize: SMALL_PV })
    for (const json of [false, true]) {
      const r = await runCli([file, '--host', 'sim', '--image', image, '--skip-preflight', ...(json ? ['--json'] : [])])
      expect(r.code, r.stderr).toBe(1)
      const all = r.stdout + r.stderr
      expect(all).toMatch(/No such\\u001b\[2J\\u009b31m template/)
      expect(all).not.toMatch(/[\u001b\u009b]/)
      if (json) expect(() => JSON.parse(r.stdout)).not.toThrow()
    }
  })
})
