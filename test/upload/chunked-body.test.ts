import { describe, expect, it } from 'vitest'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkedBody } from '../../src/upload/send/chunked-body.js'
import { CHUNK_TERMINATOR, encodeChunkHeader, framedLength } from '../../src/xapi/chunk-framing.js'
import { MiB, pattern, tempDir, writeSparse } from './helpers.js'

describe('the framed body of one PUT', () => {
  it('sends each region header in the same chunk as its first data: one write per piece, the bytes of the framing', async () => {
    const image = join(await tempDir(), 'img')
    const pieces = [
      { offset: 0, data: pattern(64 * 1024, 1) },
      { offset: MiB, data: pattern(128 * 1024, 2) },
      // Over 4 MiB: two pieces, the header only in front of the first.
      { offset: 8 * MiB, data: pattern(5 * MiB, 3) },
    ]
    await writeSparse(image, 16 * MiB, pieces)
    const regions = pieces.map((p) => ({ offset: p.offset, length: p.data.length }))
    const fh = await open(image, 'r')
    const chunks: Buffer[] = []
    const seen: Buffer[] = []
    try {
      // Copied as they come: the body reuses its two buffers.
      for await (const c of chunkedBody(fh, regions, (d) => seen.push(Buffer.from(d)))) chunks.push(Buffer.from(c))
    } finally {
      await fh.close()
    }
    expect(chunks).toHaveLength(4 + 1)
    const want = Buffer.concat([...pieces.flatMap((p) => [encodeChunkHeader(p.offset, p.data.length), p.data]), CHUNK_TERMINATOR])
    expect(Buffer.concat(chunks).equals(want)).toBe(true)
    expect(want.length).toBe(framedLength(regions))
    // onData sees the data alone, never a header.
    expect(Buffer.concat(seen).equals(Buffer.concat(pieces.map((p) => p.data)))).toBe(true)
  })
})
