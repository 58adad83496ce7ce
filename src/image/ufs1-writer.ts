import { normalizeExtents, type Extent } from './extents.js'
import { mulberry32 } from './prng.js'
import { FragAllocator } from './ufs1-alloc.js'
import { bufferContent, placeFile, type FileContent } from './ufs1-blocks.js'
import { encodeCg, type CsSummary } from './ufs1-cg.js'
import { computeUfs1Geometry, type Ufs1Geometry, type Ufs1GeometryOptions } from './ufs1-geometry.js'
import { encodeUfs1Superblock, withActualLocation } from './ufs1-sb-encode.js'
import { buildTree, type TreeNode, type Ufs1Tree } from './ufs1-tree.js'
import { DT_DIR, DT_LNK, DT_REG, encodeDirectory } from './ufs-dirent.js'
import { encodeUfs1Dinode, encodeUfs2Dinode, IFDIR, IFLNK, IFREG } from './ufs-inode.js'

export interface Ufs1BuildOptions extends Ufs1GeometryOptions {
  files: Ufs1Tree
  /** Timestamp for every inode and the superblock (seconds); fixed by default for reproducible images. */
  time?: number
  seed?: number
  volname?: string
}

export interface Ufs1Image {
  geometry: Ufs1Geometry
  /** Non-zero parts of the file system, offsets relative to the partition start. */
  extents: Extent[]
  /** Inode number of every path, root included. */
  inodes: Map<string, number>
}

/** 2012-02-09, the date of the HOWTO. */
const DEFAULT_TIME = 1328745600
const DT = { file: DT_REG, dir: DT_DIR, symlink: DT_LNK } as const
const IFMT = { file: IFREG, dir: IFDIR, symlink: IFLNK } as const

/** A UFS2 file system (newfs -O2 layout, FreeBSD's default); see buildUfs1. */
export function buildUfs2(opts: Omit<Ufs1BuildOptions, 'version'>): Ufs1Image {
  return buildUfs1({ ...opts, version: 2 })
}

/**
 * Builds a FreeBSD UFS1 file system (newfs -O1 layout), or UFS2 with `version: 2`,
 * holding `files`, as sparse extents: nothing proportional to the file-system size is
 * ever allocated.
 */
export function buildUfs1(opts: Ufs1BuildOptions): Ufs1Image {
  const g = computeUfs1Geometry(opts)
  if (g.version === 1 && g.size >= 2 ** 31) throw new RangeError('UFS1 block pointers are 32-bit: file system too large')
  const maxShortLink = g.version === 1 ? 60 : 120
  const encodeDinode = g.version === 1 ? encodeUfs1Dinode : encodeUfs2Dinode
  const nodes = buildTree(opts.files)
  const last = nodes[nodes.length - 1]
  if (last !== undefined && last.ino >= g.ncg * g.ipg) throw new RangeError(`too many files for ${g.ncg * g.ipg} inodes`)
  const time = opts.time ?? DEFAULT_TIME
  const rand = mulberry32(opts.seed ?? 1)
  const alloc = new FragAllocator(g)
  const extents: Extent[] = []
  const inodes = new Map<number, Buffer>()
  const ndir = new Array<number>(g.ncg).fill(0)

  // Directories first, as newfs places the root right after the cs summary.
  const ordered = [...nodes.filter((n) => n.kind === 'dir'), ...nodes.filter((n) => n.kind !== 'dir')]
  for (const node of ordered) {
    let content: FileContent | undefined = node.content
    let shortLink: Buffer | undefined
    if (node.kind === 'dir') content = bufferContent(directoryData(node))
    if (node.kind === 'symlink') {
      const target = Buffer.from(node.target ?? '', 'utf8')
      // Short targets live in the inode itself, as FreeBSD stores them (fs_maxsymlinklen).
      if (target.length < maxShortLink) shortLink = target
      else content = bufferContent(target)
    }
    const placed = content === undefined ? { db: [], ib: [], frags: 0, extents: [] } : placeFile(g, alloc, content)
    extents.push(...placed.extents)
    let nlink = 1
    if (node.kind === 'dir') {
      nlink = 2 + [...node.children.values()].filter((c) => c.kind === 'dir').length
      const cg = Math.floor(node.ino / g.ipg)
      ndir[cg] = (ndir[cg] ?? 0) + 1
    }
    inodes.set(
      node.ino,
      encodeDinode({
        mode: IFMT[node.kind] | node.perm,
        nlink,
        size: content?.size ?? shortLink?.length ?? 0,
        db: placed.db,
        ib: placed.ib,
        blocks: (placed.frags * g.fsize) / 512,
        time,
        gen: rand() || 1,
        shortLink,
      }),
    )
  }
  extents.push(...inodeTables(g, inodes))

  const used = (ino: number): boolean => ino < 2 || inodes.has(ino) // 0 and 1 are reserved, as newfs marks them
  const total: CsSummary = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 }
  const csArea = Buffer.alloc(g.cssize)
  const inited = initedInodes(g, inodes)
  for (let cg = 0; cg < g.ncg; cg++) {
    const { buf, cs } = encodeCg(g, cg, alloc, used, ndir[cg] ?? 0, time, inited[cg])
    extents.push({ offset: (cg * g.fpg + g.cblkno) * g.fsize, data: buf })
    ;[cs.ndir, cs.nbfree, cs.nifree, cs.nffree].forEach((v, i) => csArea.writeInt32LE(v, 16 * cg + 4 * i))
    total.ndir += cs.ndir
    total.nbfree += cs.nbfree
    total.nifree += cs.nifree
    total.nffree += cs.nffree
  }
  extents.push({ offset: g.dblkno * g.fsize, data: csArea })
  const sb = encodeUfs1Superblock(g, { cstotal: total, time, id: [time, rand()], volname: opts.volname })
  extents.push({ offset: g.sblockloc, data: withActualLocation(sb, g.sblockloc) })
  for (let cg = 0; cg < g.ncg; cg++) {
    const at = (cg * g.fpg + g.sblkno) * g.fsize
    extents.push({ offset: at, data: withActualLocation(sb, at) })
  }
  return {
    geometry: g,
    extents: normalizeExtents(extents, g.size * g.fsize),
    inodes: new Map(nodes.map((n) => [n.path, n.ino])),
  }
}

function directoryData(node: TreeNode): Buffer {
  const parent = node.parent ?? node // the root is its own parent
  const entries = [
    { ino: node.ino, type: DT_DIR, name: '.' },
    { ino: parent.ino, type: DT_DIR, name: '..' },
    ...[...node.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => ({ ino: c.ino, type: DT[c.kind], name })),
  ]
  return encodeDirectory(entries)
}

/** Inode tables, written only as far as the last used inode of each group. */
function inodeTables(g: Ufs1Geometry, inodes: Map<number, Buffer>): Extent[] {
  const out: Extent[] = []
  for (let cg = 0; cg < g.ncg; cg++) {
    const inCg = [...inodes.keys()].filter((ino) => Math.floor(ino / g.ipg) === cg)
    if (inCg.length === 0) continue
    const highest = inCg.reduce((a, b) => Math.max(a, b), 0)
    const table = Buffer.alloc(((highest % g.ipg) + 1) * g.inodeSize)
    for (const ino of inCg) inodes.get(ino)?.copy(table, (ino % g.ipg) * g.inodeSize)
    out.push({ offset: (cg * g.fpg + g.iblkno) * g.fsize, data: table })
  }
  return out
}

/**
 * UFS2's cg_initediblk per group: newfs initialises two blocks of inodes, and a group
 * whose used inodes reach further is initialised up to the block holding the last one.
 */
function initedInodes(g: Ufs1Geometry, inodes: Map<number, Buffer>): number[] {
  const out = new Array<number>(g.ncg).fill(Math.min(g.ipg, 2 * g.inopb))
  for (const ino of inodes.keys()) {
    const cg = Math.floor(ino / g.ipg)
    const need = Math.min(g.ipg, Math.ceil(((ino % g.ipg) + 1) / g.inopb) * g.inopb)
    out[cg] = Math.max(out[cg] ?? 0, need)
  }
  return out
}
