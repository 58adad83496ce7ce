import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { rolloutView } from '../../src/fleet/cli/live-view.js'
import { ImageHashes } from '../../src/fleet/image-hash.js'
import type { RolloutEvent } from '../../src/fleet/types.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'

const MiB = 1024 * 1024

function stream(tty: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY: tty, rows: 24, columns: 100, text: '', write: (t: string) => ((s.text += t), true) }
  return s as unknown as NodeJS.WriteStream & { text: string }
}

const at = (hashed: number): RolloutEvent => ({ type: 'image-hash', image: '/images/big.raw', hashed, total: 1000 })

describe('a large image hash shows its progress', () => {
  afterEach(() => vi.useRealTimers())

  it('reports how far the worker is, every 256 MiB, to the rollout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hash-progress-'))
    const file = join(dir, 'big.raw')
    const fh = await open(file, 'w')
    await fh.write(Buffer.alloc(MiB, 7), 0, MiB, 0)
    await fh.truncate(600 * MiB)
    await fh.close()
    const seen: [string, number, number][] = []
    await new ImageHashes({ env: { XDG_CACHE_HOME: join(dir, 'cache') }, onProgress: (image, n, total) => seen.push([image, n, total]) }).get(file, await scanDataRegions(file))
    // Every 256 MiB or so (a report comes at the end of the 4 MiB slice that crosses the mark).
    expect(seen.map(([image, , total]) => [image, total])).toEqual([
      [file, 600 * MiB],
      [file, 600 * MiB],
    ])
    expect(seen[0]![1]).toBeGreaterThanOrEqual(256 * MiB)
    expect(seen[1]![1] - seen[0]![1]).toBeGreaterThanOrEqual(256 * MiB)
    await rm(dir, { recursive: true, force: true })
  })

  it('on a terminal: a line for the image, redrawn, gone when the plan comes', () => {
    vi.useFakeTimers()
    const s = stream(true)
    const view = rolloutView(s)
    view.onEvent(at(430))
    vi.advanceTimersByTime(100)
    expect(s.text).toContain('image big.raw: sha256 43%')
    view.onEvent({ type: 'plan', vms: [{ name: 'web-1', pool: 'p', host: 'xcp1', action: 'create' }] })
    vi.advanceTimersByTime(100)
    expect(s.text.slice(s.text.lastIndexOf('\x1b[1A'))).not.toContain('big.raw')
    view.close()
  })

  it('in a log: one line per quarter', () => {
    const s = stream(false)
    const view = rolloutView(s)
    for (const n of [100, 256, 300, 512, 768, 900]) view.onEvent(at(n))
    expect(s.text).toBe('image big.raw: sha256 25%\nimage big.raw: sha256 51%\nimage big.raw: sha256 76%\n')
  })
})
