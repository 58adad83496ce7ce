/**
 * A small fsck for tests (the checks of fsck_ffs passes 1, 2, 4 and 5 that matter
 * for a freshly made file system): block ownership and duplicates, di_blocks, link
 * counts, d_type, reachability, and every cylinder-group map and summary recomputed
 * from the inodes. It is run on makefs images too, so it is itself checked against
 * a real tool.
 */
import type { ReadAt } from '../../../src/image/read-at.js'
import { UfsVolume } from '../../../src/image/ufs.js'
import { DT_DIR, DT_LNK, DT_REG } from '../../../src/image/ufs-dirent.js'
import { parseDinode, type Dinode } from '../../../src/image/ufs-inode.js'
import { CG_MAGIC, NDADDR, ROOTINO } from '../../../src/image/ufs-superblock.js'

export function checkUfs(read: ReadAt, partitionSize: number): string[] {
  const v = UfsVolume.open(read, partitionSize)
  const sb = v.sb
  const errs: string[] = []
  if (sb.cgoffset !== 0) return ['checker assumes fs_old_cgoffset 0']
  const owner = new Int32Array(sb.size) // 0 free, -1 metadata, ino otherwise
  const claim = (from: number, count: number, who: number): void => {
    for (let f = from; f < from + count; f++) {
      if (f < 0 || f >= sb.size) errs.push(`inode ${who}: fragment ${f} outside the fs`)
      else if (owner[f] !== 0) errs.push(`fragment ${f} claimed by ${owner[f]} and ${who}`)
      else owner[f] = who
    }
  }
  const csFrags = Math.ceil(sb.cssize / sb.fsize)
  for (let cg = 0; cg < sb.ncg; cg++) {
    const base = cg * sb.fpg
    const from = cg === 0 ? 0 : base + sb.sblkno
    claim(from, Math.min(base + sb.dblkno + (cg === 0 ? csFrags : 0), sb.size) - from, -1)
  }
  if (sb.csaddr !== sb.dblkno) errs.push(`csaddr ${sb.csaddr} is not cgdmin(0) ${sb.dblkno}`)

  const inodes = new Map<number, Dinode>()
  for (let cg = 0; cg < sb.ncg; cg++) {
    const table = read((cg * sb.fpg + sb.iblkno) * sb.fsize, sb.ipg * sb.inodeSize)
    for (let i = 0; i < sb.ipg; i++) {
      const ino = cg * sb.ipg + i
      if (ino < ROOTINO) continue
      const d = parseDinode(table.subarray(i * sb.inodeSize, (i + 1) * sb.inodeSize), sb.version)
      if (d.mode !== 0) inodes.set(ino, d)
    }
  }
  for (const [ino, d] of inodes) {
    const shortLink = d.type === 'symlink' && d.size < sb.maxsymlinklen
    const nblocks = shortLink ? 0 : Math.ceil(d.size / sb.bsize)
    let frags = 0
    for (let lbn = 0; lbn < Math.min(NDADDR, nblocks); lbn++) {
      const addr = d.db[lbn] ?? 0
      if (addr === 0) continue
      // Only a last block reached through a direct pointer may be a run of fragments.
      const n = lbn === nblocks - 1 ? Math.ceil((d.size - lbn * sb.bsize) / sb.fsize) : sb.frag
      if (Math.floor(addr / sb.frag) !== Math.floor((addr + n - 1) / sb.frag)) errs.push(`inode ${ino}: block ${lbn} crosses a block boundary`)
      claim(addr, n, ino)
      frags += n
    }
    if (!shortLink) frags += claimIndirect(read, v, d, ino, claim)
    if (nblocks > 0 && v.blockAddress(d, nblocks - 1) === 0) errs.push(`inode ${ino}: last block is a hole`)
    if (d.blocks * 512 !== frags * sb.fsize) errs.push(`inode ${ino}: di_blocks ${d.blocks} but ${frags} fragments held`)
  }

  // Directory tree: reachability, "." and "..", d_type, link counts.
  const refs = new Map<number, number>()
  const seen = new Set<number>()
  const walk = (ino: number, parent: number, depth: number): void => {
    if (seen.has(ino) || depth > 64) return void errs.push(`directory ${ino} reached twice`)
    seen.add(ino)
    const d = inodes.get(ino)
    if (d === undefined) return void errs.push(`directory ${ino} is not allocated`)
    for (const e of v.readDirectory(d)) {
      refs.set(e.ino, (refs.get(e.ino) ?? 0) + 1)
      const child = inodes.get(e.ino)
      if (child === undefined) {
        errs.push(`entry ${e.name} -> unallocated inode ${e.ino}`)
        continue
      }
      const want = { regular: DT_REG, directory: DT_DIR, symlink: DT_LNK, other: -1 }[child.type]
      if (sb.inodeFormat >= 2 && e.type !== want) errs.push(`entry ${e.name}: d_type ${e.type}, inode is ${child.type}`)
      if (e.name === '.') {
        if (e.ino !== ino) errs.push(`"." of ${ino} points to ${e.ino}`)
      } else if (e.name === '..') {
        if (e.ino !== parent) errs.push(`".." of ${ino} points to ${e.ino}, not ${parent}`)
      } else if (child.type === 'directory') walk(e.ino, ino, depth + 1)
      else seen.add(e.ino)
    }
  }
  walk(ROOTINO, ROOTINO, 0)
  for (const [ino, d] of inodes) {
    if (!seen.has(ino)) errs.push(`inode ${ino} is allocated but unreachable`)
    if ((refs.get(ino) ?? 0) !== d.nlink) errs.push(`inode ${ino}: nlink ${d.nlink}, ${refs.get(ino) ?? 0} references`)
  }
  errs.push(...checkGroups(read, v, owner, inodes))
  return errs
}

/** Claims indirect blocks and the full data blocks below them. */
function claimIndirect(read: ReadAt, v: UfsVolume, d: Dinode, ino: number, claim: (f: number, n: number, who: number) => void): number {
  const { bsize, frag, fsize, version } = v.sb
  const ptr = version === 1 ? 4 : 8
  let frags = 0
  const visit = (addr: number, depth: number): void => {
    claim(addr, frag, ino)
    frags += frag
    const raw = read(addr * fsize, bsize)
    for (let i = 0; i < bsize / ptr; i++) {
      const child = ptr === 4 ? raw.readInt32LE(4 * i) : Number(raw.readBigInt64LE(8 * i))
      if (child === 0) continue
      if (depth > 0) visit(child, depth - 1)
      else {
        claim(child, frag, ino)
        frags += frag
      }
    }
  }
  d.ib.forEach((addr, level) => {
    if (addr !== 0) visit(addr, level)
  })
  return frags
}

/** fsck pass 5: each cylinder group's maps and counts, recomputed and compared. */
function checkGroups(read: ReadAt, v: UfsVolume, owner: Int32Array, inodes: Map<number, Dinode>): string[] {
  const sb = v.sb
  const errs: string[] = []
  const total = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 }
  const csArea = read(sb.csaddr * sb.fsize, sb.ncg * 16)
  const bit = (buf: Buffer, off: number, i: number): boolean => ((buf[off + (i >> 3)] ?? 0) & (1 << (i & 7))) !== 0
  for (let cg = 0; cg < sb.ncg; cg++) {
    const c = read((cg * sb.fpg + sb.cblkno) * sb.fsize, sb.cgsize)
    const at = (what: string, got: number, want: number): void => {
      if (got !== want) errs.push(`cg ${cg}: ${what} ${got}, expected ${want}`)
    }
    const base = cg * sb.fpg
    const ndblk = Math.min(sb.fpg, sb.size - base)
    at('magic', c.readInt32LE(4), CG_MAGIC)
    at('cgx', c.readUInt32LE(12), cg)
    at('ndblk', c.readUInt32LE(20), ndblk)
    at('niblk', sb.version === 1 ? c.readInt16LE(18) : c.readUInt32LE(116), sb.ipg)
    const [iusedoff, freeoff, clustersumoff, clusteroff] = [c.readUInt32LE(92), c.readUInt32LE(96), c.readUInt32LE(104), c.readUInt32LE(108)]
    at('iusedoff', iusedoff, sb.version === 1 ? 174 : 168)
    at('freeoff', freeoff, iusedoff + Math.ceil(sb.ipg / 8))
    const cs = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 }
    for (let i = 0; i < sb.ipg; i++) {
      const ino = (base / sb.fpg) * sb.ipg + i
      const used = ino < ROOTINO || inodes.has(ino)
      if (bit(c, iusedoff, i) !== used) errs.push(`cg ${cg}: inode ${ino} map says ${used ? 'free' : 'used'}`)
      if (!used) cs.nifree++
      else if (inodes.get(ino)?.type === 'directory') cs.ndir++
    }
    const frsum = new Array<number>(8).fill(0)
    const clustersum = new Array<number>(Math.max(0, sb.contigsumsize) + 1).fill(0)
    let run = 0
    const endRun = (): void => {
      if (run > 0) clustersum[Math.min(run, sb.contigsumsize)]! += 1
      run = 0
    }
    for (let d = 0; d < ndblk; d += sb.frag) {
      let free = 0
      let fr = 0
      for (let j = 0; j < sb.frag; j++) {
        const isFree = owner[base + d + j] === 0
        if (bit(c, freeoff, d + j) !== isFree) errs.push(`cg ${cg}: fragment ${base + d + j} map says ${isFree ? 'used' : 'free'}`)
        if (isFree) {
          free++
          fr++
        } else {
          if (fr > 0) frsum[fr]! += 1
          fr = 0
        }
      }
      if (free === sb.frag) {
        cs.nbfree++
        run++
        if (sb.contigsumsize > 0 && !bit(c, clusteroff, d / sb.frag)) errs.push(`cg ${cg}: cluster map misses free block ${d / sb.frag}`)
      } else {
        if (fr > 0) frsum[fr]! += 1
        cs.nffree += free
        endRun()
        if (sb.contigsumsize > 0 && bit(c, clusteroff, d / sb.frag)) errs.push(`cg ${cg}: cluster map marks used block ${d / sb.frag}`)
      }
    }
    endRun()
    const names = ['ndir', 'nbfree', 'nifree', 'nffree'] as const
    names.forEach((k, i) => {
      at(`cs_${k}`, c.readInt32LE(24 + 4 * i), cs[k])
      at(`summary area cs_${k}`, csArea.readInt32LE(16 * cg + 4 * i), cs[k])
      total[k] += cs[k]
    })
    frsum.forEach((n, i) => {
      if (i > 0) at(`frsum[${i}]`, c.readInt32LE(52 + 4 * i), n)
    })
    if (sb.contigsumsize > 0)
      clustersum.forEach((n, i) => {
        if (i > 0) at(`clustersum[${i}]`, c.readInt32LE(clustersumoff + 4 * i), n)
      })
  }
  for (const k of ['ndir', 'nbfree', 'nifree', 'nffree'] as const) if (sb.cstotal[k] !== total[k]) errs.push(`superblock cs_${k} ${sb.cstotal[k]}, groups add up to ${total[k]}`)
  const dsize = sb.size - sb.sblkno - sb.ncg * (sb.dblkno - sb.sblkno) - Math.ceil(sb.cssize / sb.fsize)
  if (sb.dsize !== dsize) errs.push(`fs_dsize ${sb.dsize}, expected ${dsize}`)
  return errs
}
