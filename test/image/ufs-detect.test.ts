import { describe, expect, it } from 'vitest'
import { ImageFormatError } from '../../src/image/errors.js'
import { bufferReadAt } from '../../src/image/read-at.js'
import { detectUfs, hasUfs1MagicAt8192, parseSuperblock, UFS1_MAGIC, UFS2_MAGIC } from '../../src/image/ufs-superblock.js'

/** A minimal, self-consistent UFS2 superblock (32K/4K) as a standard newfs puts at 65536. */
function ufs2Superblock(location: number): Buffer {
  const sb = Buffer.alloc(8192)
  sb.writeInt32LE(8, 8)
  sb.writeInt32LE(16, 12)
  sb.writeInt32LE(24, 16)
  sb.writeInt32LE(32, 20)
  sb.writeUInt32LE(1, 44) // ncg
  sb.writeInt32LE(32768, 48)
  sb.writeInt32LE(4096, 52)
  sb.writeInt32LE(8, 56)
  sb.writeInt32LE(3, 96)
  sb.writeInt32LE(3, 100) // fragshift, fsbtodb
  sb.writeInt32LE(4096, 116)
  sb.writeUInt32LE(128, 120) // nindir, inopb
  sb.writeUInt32LE(128, 184)
  sb.writeInt32LE(8192, 188) // ipg, fpg
  sb.writeBigInt64LE(BigInt(location), 1000)
  sb.writeBigInt64LE(8192n, 1080) // size
  sb.writeInt32LE(120, 1320)
  sb.writeUInt32LE(UFS2_MAGIC, 1372)
  return sb
}

function image(parts: [number, Buffer][], size = 512 * 1024): Buffer {
  const img = Buffer.alloc(size)
  for (const [at, data] of parts) data.copy(img, at)
  return img
}

describe('UFS superblock detection (FreeBSD order 65536, 8192, 0, 262144)', () => {
  it('finds a standard UFS2 at 65536 and a makefs-style UFS2 at 8192', () => {
    expect(detectUfs(bufferReadAt(image([[65536, ufs2Superblock(65536)]])), 512 * 1024)).toMatchObject({ version: 2, location: 65536, inodeSize: 256 })
    expect(detectUfs(bufferReadAt(image([[8192, ufs2Superblock(8192)]])), 512 * 1024)).toMatchObject({ version: 2, location: 8192 })
  })

  it('ignores a UFS2 superblock that says it lives elsewhere (a stale backup)', () => {
    expect(detectUfs(bufferReadAt(image([[65536, ufs2Superblock(8192)]])), 512 * 1024)).toBeNull()
  })

  it('accepts UFS1 only at or below 8192, as FreeBSD does', () => {
    const ufs1 = ufs2Superblock(0)
    ufs1.writeUInt32LE(UFS1_MAGIC, 1372)
    ufs1.writeInt32LE(8192, 116) // UFS1: 4-byte pointers
    ufs1.writeUInt32LE(256, 120) // and 128-byte inodes
    ufs1.writeUInt32LE(256, 184)
    ufs1.writeInt32LE(8192, 36) // fs_old_size
    expect(detectUfs(bufferReadAt(image([[65536, ufs1]])), 512 * 1024)).toBeNull()
    const at8k = bufferReadAt(image([[8192, ufs1]]))
    expect(detectUfs(at8k, 512 * 1024)).toMatchObject({ version: 1, location: 8192, inodeSize: 128 })
    expect(hasUfs1MagicAt8192(at8k, 512 * 1024)).toBe(true)
    expect(hasUfs1MagicAt8192(at8k, 9000)).toBe(false) // superblock cut off by the image end
  })

  it('prefers the UFS2 at 65536 when both are present', () => {
    const ufs1 = Buffer.from(ufs2Superblock(0))
    ufs1.writeUInt32LE(UFS1_MAGIC, 1372)
    expect(
      detectUfs(
        bufferReadAt(
          image([
            [8192, ufs1],
            [65536, ufs2Superblock(65536)],
          ]),
        ),
        512 * 1024,
      )?.location,
    ).toBe(65536)
  })

  it('does not probe past the partition end and rejects nonsense fields', () => {
    expect(detectUfs(bufferReadAt(image([[65536, ufs2Superblock(65536)]])), 70000)).toBeNull()
    const bad = ufs2Superblock(65536)
    bad.writeInt32LE(4096 * 3, 48)
    expect(() => parseSuperblock(bad, 65536)).toThrow(ImageFormatError)
    expect(() => parseSuperblock(Buffer.alloc(8192), 0)).toThrow(/no UFS magic/)
  })
})
