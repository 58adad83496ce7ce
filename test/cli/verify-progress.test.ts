import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import { runProvision, syntheticImage } from '../provision/support.js'
import { progressRenderer } from '../../src/cli/progress.js'
import { printResult } from '../../src/cli/output.js'

/** A stderr that records what is drawn on it; `isTTY` as a terminal or a pipe would say. */
function stream(isTTY: boolean): { s: NodeJS.WriteStream; text: () => string } {
  let text = ''
  const w = new Writable({
    write(chunk: Buffer | string, _e, done) {
      text += chunk.toString()
      done()
    },
  })
  return { s: Object.assign(w, { isTTY }) as unknown as NodeJS.WriteStream, text: () => text }
}

const count = (text: string, part: string): number => text.split(part).length - 1

/** A real --verify run against the simulator, its events drawn as the CLI draws them on `err`. */
async function verifiedRun(err: NodeJS.WriteStream, quiet = false): Promise<{ stdout: string; json: Record<string, unknown> }> {
  const sim = await withSimulator()
  const r = await runProvision(sim, await syntheticImage(7, 4, 64 * 1024 * 1024), { verify: true, onEvent: progressRenderer(err, quiet) })
  const out = stream(false)
  printResult({ json: false, stdout: out.s, stderr: err }, r)
  return { stdout: out.text(), json: r.upload as Record<string, unknown> }
}

describe('--verify shows its progress and ends with "verified N/N segments"', () => {
  it("on a terminal: a bar that counts segments, replaced by the step's ✓ line; the summary says verified N/N", async () => {
    const err = stream(true)
    const { stdout, json } = await verifiedRun(err.s)
    const verify = json.verify as { segments_verified: number; segments: number; bytes_read: number }
    // 1 MiB segments over a 64 MiB image: several, all read back and equal.
    expect(verify.segments).toBeGreaterThan(1)
    expect(verify).toEqual({ segments_verified: verify.segments, segments: verify.segments, bytes_read: expect.any(Number) })
    expect(verify.bytes_read).toBeGreaterThanOrEqual(64 * 1024 * 1024)
    const n = verify.segments
    expect(err.text()).toMatch(new RegExp(`\\x1b\\[2K\\r  verify \\[=+>?\\s*\\] 100% ${n}/${n} segments, 64 MiB/64 MiB read`))
    expect(err.text()).toMatch(/\x1b\[2K\r✓ Verify the upload \(read the VDI back\) \(\d+(\.\d)? m?s\)\n/)
    expect(count(stdout, `verified ${n}/${n} segments`)).toBe(1)
    // Printed once, in the summary: the bar's last frame says "N/N segments", never "verified".
    expect(err.text()).not.toContain('verified')
  })

  it('in a log (no terminal): plain lines, no escape, the 100% line once', async () => {
    const err = stream(false)
    const { stdout, json } = await verifiedRun(err.s)
    const n = (json.verify as { segments: number }).segments
    expect(err.text()).not.toContain('\x1b')
    expect(count(err.text(), `  verify 100% (${n}/${n} segments)\n`)).toBe(1)
    expect(stdout).toContain(`  verify verified ${n}/${n} segments (`)
  })

  it('with --quiet or --json: no bar and no step lines (warnings only)', async () => {
    const err = stream(true)
    await verifiedRun(err.s, true)
    expect(err.text()).not.toMatch(/verify|segments|✓/)
    expect(
      err
        .text()
        .replace(/\x1b\[2K\r/g, '')
        .trim()
        .split('\n')
        .every((l) => l.startsWith('warning: ')),
    ).toBe(true)
  })
})
