import { describe, expect, it } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { request } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { BLOCK, DiskMap, SparseDisk } from '../../mocks/sparse-disk.js'
import { CHUNK_TERMINATOR, encodeChunkHeader } from '../../src/xapi/chunk-framing.js'
import { withSimulator, connectTo } from '../support/simulator.js'

const MiB = 1 << 20

/**
 * A full garbage collection, so a memory figure counts what is held, not what is waiting
 * to be collected: the worker runs other files before this one (isolate: false), and
 * when the collector last ran decided whether 33.8 or 20 MiB showed up here.
 */
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void
const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => ((i * 31 + seed) % 251) + 1))

describe('SparseDisk: contents in sparse files, clones copy-on-write', () => {
  it('reads back what was written, holes as zeros, across block boundaries', () => {
    const d = new SparseDisk(4 * BLOCK)
    d.write(BLOCK - 3, Buffer.from('abcdef'))
    expect(d.read(BLOCK - 4, 8)).toEqual(Buffer.from('\0abcdef\0'))
    expect(d.dataBlocks()).toEqual([0, 1])
    expect(d.read(3 * BLOCK, BLOCK)).toEqual(Buffer.alloc(BLOCK))
    // A whole block of zeros frees it.
    d.write(BLOCK, Buffer.alloc(BLOCK))
    expect(d.dataBlocks()).toEqual([0])
    d.dispose()
  })

  it('a clone sees the base; writes on either side stay on that side; a zeroed block masks the parent', () => {
    const map = new DiskMap()
    const base = new SparseDisk(8 * BLOCK)
    map.set('base', base)
    base.write(0, bytes(3 * BLOCK, 1))
    const clone = base.clone()
    map.set('clone', clone)
    expect(clone.read(0, 3 * BLOCK)).toEqual(bytes(3 * BLOCK, 1))
    clone.write(10, Buffer.from('clone'))
    base.write(BLOCK + 10, Buffer.from('base'))
    expect(base.read(10, 5)).toEqual(bytes(3 * BLOCK, 1).subarray(10, 15))
    expect(clone.read(10, 5)).toEqual(Buffer.from('clone'))
    expect(clone.read(BLOCK + 10, 4)).toEqual(bytes(3 * BLOCK, 1).subarray(BLOCK + 10, BLOCK + 14))
    clone.write(2 * BLOCK, Buffer.alloc(BLOCK))
    expect(clone.dataBlocks()).toEqual([0, 1])
    expect(base.dataBlocks()).toEqual([0, 1, 2])
    // The base goes; the clone keeps reading the blocks it shared.
    map.delete('base')
    expect(clone.read(BLOCK, 4)).toEqual(bytes(3 * BLOCK, 1).subarray(BLOCK, BLOCK + 4))
    expect(readdirSync(map.dir).length).toBeGreaterThan(0)
    map.close()
    expect(existsSync(map.dir)).toBe(false)
  })

  it('100 clones of a disk copy none of its data into memory', () => {
    const map = new DiskMap()
    const base = new SparseDisk(8 * MiB)
    map.set('base', base)
    for (let off = 0; off < 8 * MiB; off += MiB) base.write(off, bytes(MiB, off))
    const before = process.memoryUsage().arrayBuffers
    for (let i = 0; i < 100; i++) map.set(`c${i}`, base.clone())
    // Before, each clone copied every block: 800 MiB here.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * MiB)
    expect(map.get('c99')!.read(5 * MiB, 16)).toEqual(bytes(MiB, 5 * MiB).subarray(0, 16))
    map.close()
  })
})

describe('an upload that writes one byte per block', () => {
  it('costs disk blocks, not memory', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const size = 256 * MiB
    const vdi = await x.call<string>('VDI.create', { name_label: 'd', SR: sim.inventory.localSr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {} })
    const parts: Buffer[] = []
    for (let off = 0; off < size; off += BLOCK) parts.push(encodeChunkHeader(off, 1), Buffer.from([0x5a]))
    parts.push(CHUNK_TERMINATOR)
    const body = Buffer.concat(parts)
    collect()
    const before = process.memoryUsage().arrayBuffers
    const url = new URL(`/import_raw_vdi?chunked=true&vdi=${vdi}&session_id=${x.sessionId}`, sim.url)
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } }, (res) => {
        res.resume()
        res.on('end', () => resolve())
      })
      req.on('error', reject)
      req.end(body)
    })
    // 4096 blocks touched with 53 KB on the wire: 256 MiB of heap before.
    collect()
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * MiB)
    expect(sim.readVdi(vdi, 200 * MiB, 2)).toEqual(Buffer.from([0x5a, 0]))
  })
})
