import type { Layout } from './layout.js'
import type { Finding } from './report.js'
import type { FoundRoot } from './root-fs.js'

/**
 * Problems pygrub does not care about but FreeBSD does, and signs of a truncated copy.
 * pygrub ignores BSD labels, yet the kernel's GEOM needs a valid one to create
 * xbd0s1a: a bad label boots the kernel and then fails to mount the root.
 */
export function diskWarnings(layout: Layout, found: FoundRoot | null, size: number): Finding[] {
  const out: Finding[] = layout.table.problems.map((p) => ({ code: 'partition-table', message: p, fix: 'rewrite the partition table (gpart or fdisk) and check the image again' }))
  for (const n of layout.unlabelled) {
    out.push({
      code: 'no-disklabel',
      message: `slice ${n} (FreeBSD) has no BSD label: FreeBSD will see no xbd0s${n}a to mount`,
      fix: 'write one in the slice (bsdlabel -w, or gpart create -s BSD) with partition a at offset 0',
    })
  }
  for (const l of layout.labels) {
    const problems = [...(l.checksum_valid ? [] : ['checksum mismatch']), ...l.problems.filter((p) => p !== 'checksum mismatch')]
    if (problems.length === 0) continue
    const dev = l.slice === 0 ? 'xbd0a' : `xbd0s${l.slice}a`
    out.push({
      code: 'disklabel',
      message: `the BSD label ${l.slice === 0 ? 'of the disk' : `of slice ${l.slice}`} fails FreeBSD's checks (${problems.join('; ')}): GEOM will not create ${dev}, so the kernel cannot mount the root from it`,
      fix: 'write the label again with bsdlabel -w (or gpart create -s BSD) and check the image again',
    })
  }
  const ends = layout.table.entries.map((e) => e.start + e.size)
  if (found?.volume) ends.push(found.root.start + found.volume.sb.size * found.volume.sb.fsize)
  const claimed = Math.max(0, ...ends)
  if (claimed > size) {
    out.push({
      code: 'image-truncated',
      message: `the partition table or file system reaches byte ${claimed}, but the image has only ${size} bytes: it looks truncated`,
      fix: 'copy the whole image again',
    })
  }
  return out
}
