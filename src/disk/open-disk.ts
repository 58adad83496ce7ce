import { fileReadAt } from '../image/read-at.js'
import { ContainerFile, diskOf } from './disk-file.js'
import { detect, refusedInside } from './detect.js'
import { growingContainer } from './growing-disk.js'
import { openQcow2 } from './qcow2.js'
import { openVhd, vhdFooter } from './vhd.js'
import { openVmdk } from './vmdk.js'
import { releaseSpool, spooledFile } from './spool-registry.js'
import { DiskFormatError, type VirtualDisk } from './virtual-disk.js'

/**
 * The one way images are opened: by content, whatever the name. A compressed image
 * must have been decompressed first (prepareImage, spool.ts): its spool is opened in its
 * place. Synchronous, for the synchronous readers of src/image and src/preflight.
 */
export function openDisk(path: string): VirtualDisk {
  // A qcow2, VMDK or dynamic VHD spool xz is still writing: read through its frontier (growing-disk.ts).
  const growing = growingContainer(path)
  if (growing) return growing.open()
  let f = ContainerFile.open(path)
  try {
    let d = detect(f.read(0, Math.min(f.size, 512), 'the first sector'))
    if (d.kind === 'compressed') {
      const spool = spooledFile(path)
      if (spool === undefined)
        throw new DiskFormatError(path, 0, `the image is ${d.compression}-compressed and was not decompressed before being opened (internal: call prepareImage first)`, 'report this as a bug')
      f.close()
      f = ContainerFile.open(spool)
      d = detect(f.read(0, Math.min(f.size, 512), 'the first sector'))
      if (d.kind === 'compressed') f.fail(0, `the decompressed image of ${path} is itself ${d.compression}-compressed`, 'decompress it once by hand, then pass the result')
      // Named by the file the user gave, not by its spool in $TMPDIR; the spool is of no use any more.
      if (d.kind === 'refused') {
        releaseSpool(path)
        throw refusedInside(path, d)
      }
    }
    if (d.kind === 'refused') f.fail(0, d.why, d.fix)
    if (d.kind === 'container') return diskOf(f, d.format === 'qcow2' ? openQcow2(f) : openVmdk(f))
    const foot = vhdFooter(f)
    if (foot) return diskOf(f, openVhd(f, foot))
    return rawDisk(f)
  } catch (e) {
    f.close()
    throw e
  }
}

/** Runs `fn` on the opened disk and closes it. */
export function withDisk<T>(path: string, fn: (disk: VirtualDisk) => T): T {
  const disk = openDisk(path)
  try {
    return fn(disk)
  } finally {
    disk.close()
  }
}

function rawDisk(f: ContainerFile): VirtualDisk {
  return {
    file: f.path,
    format: 'raw',
    size: f.size,
    readAt: fileReadAt(f.fd, f.size),
    allocated: function* () {
      if (f.size > 0) yield { offset: 0, length: f.size }
    },
    locate: () => null,
    close: () => f.close(),
  }
}

export { DiskFormatError }
