import { createHash } from 'node:crypto'
import { stringify as toYaml } from 'yaml'
import { buildFat } from '../image/fat-writer.js'
import type { Extent } from '../image/extents.js'
import type { CloudInit } from '../recipe/cloud-init.js'

/** Volume labels the guests look for: cloud-init's NoCloud and ConfigDrive, FreeBSD's nuageinit. */
export const DRIVE_LABEL = { nocloud: 'cidata', configdrive: 'config-2' } as const

/** What goes on one VM's drive, after templating. */
export interface DriveContent {
  datasource: CloudInit['datasource']
  /** instance-id, local-hostname and the recipe's extra keys. */
  metaData: Record<string, string>
  userData: string | undefined
  networkConfig: Record<string, unknown> | undefined
}

/** The files of the drive, by path, in the layout the datasource reads. */
export function driveFiles(c: DriveContent): Record<string, Buffer> {
  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')
  if (c.datasource === 'nocloud') {
    // cloud-init's NoCloud wants both meta-data and user-data present; an empty #cloud-config is a no-op.
    return {
      '/meta-data': utf8(toYaml(c.metaData)),
      '/user-data': utf8(c.userData ?? '#cloud-config\n'),
      ...(c.networkConfig ? { '/network-config': utf8(toYaml(c.networkConfig)) } : {}),
    }
  }
  // ConfigDrive v2 (OpenStack): meta_data.json names the instance by uuid, hostname and name.
  const { 'instance-id': uuid, 'local-hostname': hostname, ...rest } = c.metaData
  const meta = { ...rest, uuid, hostname, name: hostname }
  return {
    '/openstack/latest/meta_data.json': utf8(`${JSON.stringify(meta, null, 2)}\n`),
    ...(c.userData !== undefined ? { '/openstack/latest/user_data': utf8(c.userData) } : {}),
  }
}

const MiB = 1024 * 1024
const SECTOR = 512
/** FAT12 stays below 4085 clusters; leave room for directories and the FAT rounding. */
const FAT12_BUDGET = 4000

export interface BuiltDrive {
  label: string
  size: number
  extents: Extent[]
}

/**
 * A FAT12 volume holding the files, as small as whole MiB allow: the smallest cluster
 * size that fits the data in FAT12, then the smallest size in MiB the writer accepts.
 * The volume id comes from the content, so the same content gives the same bytes.
 */
export function buildDrive(c: DriveContent): BuiltDrive {
  const files = driveFiles(c)
  const label = DRIVE_LABEL[c.datasource]
  const volumeId = createHash('sha256').update(JSON.stringify(c)).digest().readUInt32LE(0)
  const sizes = Object.values(files).map((b) => b.length)
  for (let spc = 1; spc <= 64; spc *= 2) {
    const clusterBytes = spc * SECTOR
    // Each file rounds up to a cluster; each directory takes at least one.
    const clusters = sizes.reduce((n, s) => n + Math.ceil(s / clusterBytes), 0) + 4
    if (clusters > FAT12_BUDGET) continue
    const overhead = (1 + 2 * 12 + 32) * SECTOR // boot sector, two FAT12s at most 12 sectors, the root directory
    for (let size = Math.max(MiB, Math.ceil((clusters * clusterBytes + overhead) / MiB) * MiB); size <= 256 * MiB; size += MiB) {
      try {
        return { label, size, extents: buildFat({ size, type: 12, sectorsPerCluster: spc, label, keepLabelCase: true, volumeId, files }) }
      } catch (e) {
        // Too many clusters for FAT12 at this cluster size: the next one will do.
        if (!(e instanceof RangeError) || !/not FAT12|full/.test(e.message)) throw e
        if (/not FAT12/.test(e.message)) break
      }
    }
  }
  throw new RangeError(`the cloud-init data (${sizes.reduce((a, b) => a + b, 0)} bytes) does not fit a FAT12 config drive (at most ~120 MiB)`)
}
