import { bufferContent, sparseContent, type FileContent } from './ufs1-blocks.js'
import { ROOTINO } from './ufs-superblock.js'

export type Ufs1TreeEntry =
  | Buffer
  | { type: 'file'; data: Buffer; mode?: number }
  | { type: 'sparse'; size: number; chunks: { offset: number; data: Buffer }[]; mode?: number }
  | { type: 'dir'; mode?: number }
  | { type: 'symlink'; target: string; mode?: number }

/** Absolute paths to contents; parent directories are created as needed. */
export type Ufs1Tree = Readonly<Record<string, Ufs1TreeEntry>>

export interface TreeNode {
  ino: number
  path: string
  kind: 'file' | 'dir' | 'symlink'
  /** Permission bits only; the type bits come from `kind`. */
  perm: number
  content?: FileContent
  target?: string
  parent: TreeNode | undefined
  children: Map<string, TreeNode>
}

const DEFAULT_PERM = { file: 0o644, dir: 0o755, symlink: 0o755 } as const

function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw new RangeError(`path must be absolute: ${path}`)
  const parts = path.split('/').filter((p) => p !== '')
  if (parts.some((p) => p === '.' || p === '..')) throw new RangeError(`path must be normalised: ${path}`)
  return parts
}

/**
 * Turns the flat path map into a tree and numbers the inodes: root is 2 (ROOTINO),
 * the rest follow in depth-first, name-sorted order so images are reproducible.
 * Returns the nodes in inode order.
 */
export function buildTree(tree: Ufs1Tree): TreeNode[] {
  const root: TreeNode = { ino: ROOTINO, path: '/', kind: 'dir', perm: DEFAULT_PERM.dir, parent: undefined, children: new Map() }
  for (const [path, entry] of Object.entries(tree)) {
    const parts = splitPath(path)
    let dir = root
    for (const [i, name] of parts.entries()) {
      const isLeaf = i === parts.length - 1
      let node = dir.children.get(name)
      if (node === undefined) {
        node = { ino: 0, path: '/' + parts.slice(0, i + 1).join('/'), kind: 'dir', perm: DEFAULT_PERM.dir, parent: dir, children: new Map() }
        dir.children.set(name, node)
      } else if (node.kind !== 'dir' || (isLeaf && !isDirEntry(entry))) {
        throw new RangeError(`conflicting entries for ${node.path}`)
      }
      if (isLeaf) applyEntry(node, entry)
      dir = node
    }
    if (parts.length === 0) applyEntry(root, entry)
  }
  const ordered: TreeNode[] = []
  const visit = (node: TreeNode): void => {
    node.ino = ordered.length + ROOTINO
    ordered.push(node)
    for (const name of [...node.children.keys()].sort()) {
      const child = node.children.get(name)
      if (child !== undefined) visit(child)
    }
  }
  visit(root)
  return ordered
}

const isDirEntry = (e: Ufs1TreeEntry): boolean => !Buffer.isBuffer(e) && e.type === 'dir'

function applyEntry(node: TreeNode, entry: Ufs1TreeEntry): void {
  const perm = (m: number | undefined, kind: TreeNode['kind']): number => (m ?? DEFAULT_PERM[kind]) & 0o7777
  if (Buffer.isBuffer(entry)) {
    Object.assign(node, { kind: 'file', perm: DEFAULT_PERM.file, content: bufferContent(entry) })
    return
  }
  switch (entry.type) {
    case 'file':
      Object.assign(node, { kind: 'file', perm: perm(entry.mode, 'file'), content: bufferContent(entry.data) })
      break
    case 'sparse':
      Object.assign(node, { kind: 'file', perm: perm(entry.mode, 'file'), content: sparseContent(entry.size, entry.chunks) })
      break
    case 'dir':
      node.perm = perm(entry.mode, 'dir')
      break
    case 'symlink':
      Object.assign(node, { kind: 'symlink', perm: perm(entry.mode, 'symlink'), target: entry.target })
      break
  }
}
