import { parse as parseYaml } from 'yaml'
import { openFat } from '../../src/image/fat.js'
import { ImagePathError } from '../../src/image/errors.js'
import type { Ctx } from '../context.js'

/** What a guest found on its config drive (cloud-init NoCloud or ConfigDrive v2, or nuageinit). */
export interface Seed {
  label: 'cidata' | 'config-2'
  metaData: Record<string, unknown>
  userData: string | undefined
  networkConfig: Record<string, unknown> | undefined
}

/** The FAT volume label from the boot sector (offset 43 on FAT12/16, 71 on FAT32), as blkid reads it. */
function fatLabel(boot: Buffer): string | undefined {
  if (boot.length < 512 || boot.readUInt16LE(510) !== 0xaa55) return undefined
  const fat32 = boot.readUInt16LE(22) === 0
  const at = fat32 ? 71 : 43
  if (boot[at - 5] !== 0x29) return undefined
  return boot.toString('latin1', at, at + 11).trimEnd()
}

/**
 * What cloud-init's NoCloud and ConfigDrive datasources (and FreeBSD's nuageinit) look
 * for: a disk whose FAT label is cidata or config-2 (either case). The first such disk
 * wins; a guest with none runs without a seed.
 */
export function readSeed(c: Ctx, vm: string): Seed | undefined {
  const vbds = (c.store.get('VM', vm).VBDs as string[]).map((v) => c.store.get('VBD', v)).filter((v) => v.type === 'Disk' && v.empty !== true)
  for (const vbd of vbds) {
    const disk = c.sim.disks.get(String(vbd.VDI))
    if (!disk || disk.size < 512) continue
    const label = fatLabel(disk.read(0, 512))?.toLowerCase()
    if (label !== 'cidata' && label !== 'config-2') continue
    try {
      const fat = openFat((o, n) => disk.read(o, n), disk.size)
      // lookup throws ENOENT for a missing file: network-config (NoCloud) is optional, not a sign of an unreadable drive.
      const text = (p: string): string | undefined => {
        try {
          fat.lookup(p)
        } catch (e) {
          if (e instanceof ImagePathError && e.code === 'ENOENT') return undefined
          throw e
        }
        return fat.readFile(p, { maxSize: 16 << 20 }).data.toString('utf8')
      }
      if (label === 'cidata') {
        const net = text('/network-config')
        return {
          label,
          metaData: (parseYaml(text('/meta-data') ?? '') as Record<string, unknown> | null) ?? {},
          userData: text('/user-data'),
          networkConfig: net ? (parseYaml(net) as Record<string, unknown>) : undefined,
        }
      }
      const meta = text('/openstack/latest/meta_data.json')
      return { label, metaData: meta ? (JSON.parse(meta) as Record<string, unknown>) : {}, userData: text('/openstack/latest/user_data'), networkConfig: undefined }
    } catch {
      // A drive the guest cannot read is skipped, as cloud-init logs and moves on.
      continue
    }
  }
  return undefined
}
