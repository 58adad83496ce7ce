import { ContainerFile } from '../../src/disk/disk-file.js'
import type { VirtualDisk } from '../../src/disk/virtual-disk.js'

/**
 * What xapi's import tools accept beyond a readable image: both read the upload as a
 * stream, so the file must be laid out in the order they read it. Checked on the
 * spooled body after src/disk has validated its tables; returns what the tool would
 * fail with, or undefined.
 */

/**
 * vhd-tool serve --source-format vhd (ocaml-vhd vhd_format/f.ml From_input.openstream):
 * the footer copy at byte 0, then skip_to (forward only) the header at data_offset, the
 * BAT at table_offset, every block in ascending file order, the footer at the end. So a
 * fixed VHD (no footer copy at 0) fails, and so do tables placed after the blocks.
 */
export function vhdStreamProblem(path: string): string | undefined {
  const f = ContainerFile.open(path)
  try {
    if (f.size < 512 || f.read(0, 8, 'the footer copy').toString('latin1') !== 'conectix') return 'Vhd_format: no VHD footer at byte 0 (a fixed VHD or not a VHD: vhd-tool reads dynamic VHDs only)'
    const dataOffset = Number(f.read(16, 8, 'data_offset').readBigUInt64BE(0))
    if (dataOffset < 512) return `Vhd_format: header at ${dataOffset}, before the end of the footer copy`
    const h = f.read(dataOffset, 1024, 'the dynamic header')
    const batAt = Number(h.readBigUInt64BE(16))
    const entries = h.readUInt32BE(28)
    if (batAt < dataOffset + 1024) return `Vhd_format: BAT at ${batAt}, before the end of the header (${dataOffset + 1024}): a stream cannot seek back`
    const bat = f.read(batAt, entries * 4, 'the BAT')
    for (let i = 0; i < entries; i++) {
      const s = bat.readUInt32BE(i * 4)
      if (s !== 0xffffffff && s * 512 < batAt + entries * 4) return `Vhd_format: block ${i} at ${s * 512}, before the end of the BAT: a stream cannot seek back`
    }
    return undefined
  } finally {
    f.close()
  }
}

/**
 * qcow-stream-tool stream_decode (mirage/ocaml-qcow lib/qcow_stream.ml): no compressed
 * clusters (Compressed_unsupported); the tables are read through a cache that can only
 * read forward (refcount table, then the L1 table, then each L2 table in L1 order); then
 * the data clusters are copied in ascending file order and each must be the cluster
 * right after the last one read ("can't read non-sequential clusters"). That is the
 * layout qemu's scripts/qcow2-to-stdout.py writes (header, refcount table and blocks,
 * L1, L2 tables, data); `qemu-img convert -O qcow2` interleaves L2 tables and refcount
 * blocks with the data once the image has data in more than one L2 table's span.
 */
export function qcowStreamProblem(path: string, disk: VirtualDisk): string | undefined {
  const f = ContainerFile.open(path)
  try {
    const h = f.read(0, 64, 'the qcow2 header')
    const clusterBits = h.readUInt32BE(20)
    const cluster = 2 ** clusterBits
    const l1Size = h.readUInt32BE(36)
    const l1At = Number(h.readBigUInt64BE(40))
    const refAt = Number(h.readBigUInt64BE(48))
    const refClusters = h.readUInt32BE(56)
    let last = 0 // the header cluster has been read
    const seen = new Set<number>()
    const nonSequential = (i: number): string => `Failure("read_cluster_stream: can't read non-sequential clusters (last_read_cluster:${last}, i: ${i})")`
    /** Qcow_cache.read on a stream: cached, or read forward up to it (the clusters in between are kept). */
    const readTable = (i: number): string | undefined => {
      if (seen.has(i)) return undefined
      if (i <= last) return nonSequential(i)
      for (let c = last + 1; c <= i; c++) seen.add(c)
      last = i
      return undefined
    }
    const refFirst = refAt / cluster
    for (let i = 0; i < refClusters; i++) {
      const p = readTable(refFirst + i)
      if (p) return p
    }
    const perCluster = cluster / 8
    const l1 = f.read(l1At, l1Size * 8, 'the L1 table')
    for (let k = 0; k < Math.ceil(l1Size / perCluster); k++) {
      const p = readTable(l1At / cluster + k)
      if (p) return p
      for (let j = k * perCluster; j < Math.min(l1Size, (k + 1) * perCluster); j++) {
        const at = (l1.readUInt32BE(j * 8) & 0x00ffffff) * 2 ** 32 + ((l1.readUInt32BE(j * 8 + 4) & ~0x1ff) >>> 0)
        const q = at === 0 ? undefined : readTable(at / cluster)
        if (q) return q
      }
    }
    const data = new Set<number>()
    for (const e of disk.allocated()) {
      for (const piece of disk.locate(e.offset, e.length) ?? []) {
        if (piece.kind === 'deflate' || piece.kind === 'zlib') return 'Qcow_stream.Compressed_unsupported: the image has compressed clusters'
        if (piece.kind === 'file') for (let c = Math.floor(piece.at / cluster); c * cluster < piece.at + piece.length; c++) data.add(c)
      }
    }
    for (const c of [...data].sort((a, b) => a - b)) {
      if (c !== last + 1) return nonSequential(c)
      last = c
    }
    return undefined
  } finally {
    f.close()
  }
}
