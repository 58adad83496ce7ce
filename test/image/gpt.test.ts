import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ImageFormatError } from '../../src/image/errors.js'
import { extentsToBuffer } from '../../src/image/extents.js'
import { GPT_TYPE_FREEBSD_BOOT, GPT_TYPE_FREEBSD_UFS, guidFromBytes, guidToBytes, parseGpt, pygrubGptOffsets } from '../../src/image/gpt.js'
import { buildGpt, type GptPartitionInput } from '../../src/image/gpt-build.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { flip } from './helpers/flip.js'
import { runOk, tempDir } from './helpers/tools.js'
import { needs } from '../support/oracles.js'

const DISK_GUID = '11111111-2222-3333-4444-555555555555'
const PARTS: GptPartitionInput[] = [
  { typeGuid: GPT_TYPE_FREEBSD_BOOT, uniqueGuid: 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE', startLba: 40, endLba: 1063, name: 'boot' },
  { typeGuid: GPT_TYPE_FREEBSD_UFS, uniqueGuid: '12345678-9ABC-DEF0-1234-56789ABCDEF0', startLba: 2048, endLba: 14335, name: 'rootfs' },
]
const SIZE = 8 * 1024 * 1024

describe('GPT', () => {
  const tmp = tempDir('gpt-')
  afterAll(tmp.cleanup)

  it('converts GUIDs with their mixed-endian layout', () => {
    const b = guidToBytes(GPT_TYPE_FREEBSD_UFS)
    expect(b.toString('hex')).toBe('b67c6e51cf6ed6118ff800022d09712b')
    expect(guidFromBytes(b)).toBe(GPT_TYPE_FREEBSD_UFS)
    expect(() => guidToBytes('nope')).toThrow(RangeError)
  })

  it('parses what it builds, CRCs included', () => {
    const disk = extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE)
    const { header, entries } = parseGpt(bufferReadAt(disk), SIZE)
    expect(header).toMatchObject({ headerCrcValid: true, entriesCrcValid: true, myLba: 1, entriesLba: 2, numEntries: 128, entrySize: 128, firstUsableLba: 34, diskGuid: DISK_GUID })
    expect(entries.map((e) => [e.index, e.typeGuid, e.startLba, e.endLba, e.name])).toEqual([
      [0, GPT_TYPE_FREEBSD_BOOT, 40, 1063, 'boot'],
      [1, GPT_TYPE_FREEBSD_UFS, 2048, 14335, 'rootfs'],
    ])
  })

  needs('sfdisk').it('is byte-identical to the GPT sfdisk writes for the same table', () => {
    const path = join(tmp.dir, 'sfdisk.img')
    writeFileSync(path, '')
    truncateSync(path, SIZE)
    const script =
      [
        'label: gpt',
        `label-id: ${DISK_GUID}`,
        'unit: sectors',
        'first-lba: 34',
        ...PARTS.map((p) => `start=${p.startLba}, size=${p.endLba - p.startLba + 1}, type=${p.typeGuid}, uuid=${p.uniqueGuid}, name="${p.name ?? ''}"`),
      ].join('\n') + '\n'
    runOk('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', path], script)
    const real = readFileSync(path)
    expect(real.length).toBe(SIZE)
    expect(extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE).equals(real)).toBe(true)
    expect(parseGpt(bufferReadAt(real), SIZE).entries).toHaveLength(2)
  })

  it('detects corruption', () => {
    const disk = extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE)
    flip(disk, 1024 + 32) // entry 0 start LBA
    expect(parseGpt(bufferReadAt(disk), SIZE).header.entriesCrcValid).toBe(false)
    flip(disk, 512 + 40)
    expect(parseGpt(bufferReadAt(disk), SIZE).header.headerCrcValid).toBe(false)
    expect(() => parseGpt(bufferReadAt(Buffer.alloc(4096)), 4096)).toThrow(ImageFormatError)
    const huge = extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE)
    huge.writeUInt32LE(1e6, 512 + 80)
    expect(() => parseGpt(bufferReadAt(huge), SIZE)).toThrow(/entries/)
  })

  describe('pygrub offsets (get_fs_offset_gpt)', () => {
    it('lists every entry start, empty ones included, from LBA 2', () => {
      const disk = extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE)
      const r = pygrubGptOffsets(bufferReadAt(disk), SIZE)
      expect(r.ok && r.offsets.length).toBe(128)
      expect(r.ok && r.offsets.slice(0, 3)).toEqual([40 * 512, 2048 * 512, 0])
    })

    it('ignores PartitionEntryLBA and the signature', () => {
      const disk = extentsToBuffer(buildGpt(SIZE, DISK_GUID, PARTS), SIZE)
      disk.writeBigUInt64LE(99n, 512 + 72)
      disk.fill(0, 512, 520)
      const r = pygrubGptOffsets(bufferReadAt(disk), SIZE)
      expect(r.ok && r.offsets[1]).toBe(2048 * 512)
    })

    it('fails like Python struct.unpack on short reads', () => {
      const disk = Buffer.alloc(4096)
      disk.writeUInt32LE(100, 512 + 80)
      disk.writeUInt32LE(128, 512 + 84)
      expect(pygrubGptOffsets(bufferReadAt(disk), disk.length)).toEqual({ ok: false, message: 'struct.error: unpack requires a buffer of 8 bytes' })
      expect(pygrubGptOffsets(bufferReadAt(disk), 520)).toEqual({ ok: false, message: 'struct.error: unpack requires a buffer of 4 bytes' })
    })
  })
})
