import { GPT_TYPE_FREEBSD_BOOT } from '../image/gpt.js'
import { MBR_TYPE_FREEBSD, parseMbr, SECTOR_SIZE } from '../image/mbr.js'
import type { ReadAt } from '../image/read-at.js'
import type { FirmwareVerdict, HvmPartition, HvmRoot } from './hvm-report.js'
import { rootProblems } from './hvm-root-check.js'
import type { Layout } from './layout.js'
import type { Finding, TableEntry } from './report.js'

/** GRUB's "BIOS boot" partition, where grub-install puts core.img on a GPT disk. */
export const GPT_TYPE_BIOS_BOOT = '21686148-6449-6E6F-744E-656564454649'
/** gpart(8): pmbr loads at most 545 KiB of freebsd-boot. */
const PMBR_MAX = 545 * 1024
const BOOTCODE = 'gpart bootcode -b /boot/pmbr -p /boot/gptboot -i 1 ada0'

const isZero = (b: Buffer): boolean => b.every((x) => x === 0)

/**
 * What the HVM BIOS (SeaBIOS in XCP-ng's qemu) does with the first disk of the boot
 * order: needs 0x55AA at byte 510, then runs the MBR's code, which is all it looks at.
 * The code then needs something to chain to: pmbr the freebsd-boot partition of a GPT
 * (gptboot, then /boot/loader of the first freebsd-ufs), mbr/boot0 an active FreeBSD
 * slice whose first sector holds boot1, GRUB its core in the BIOS boot partition.
 */
export function biosVerdict(read: ReadAt, size: number, layout: Layout, parts: readonly HvmPartition[], root: HvmRoot | null): FirmwareVerdict {
  const fail = (chain: string[], p: Finding): FirmwareVerdict => ({ firmware: 'bios', boots: false, chain, problems: [p] })
  if (size < SECTOR_SIZE) return fail([], { code: 'no-mbr', message: `the image is ${size} bytes, smaller than one sector`, fix: 'give a whole disk image' })
  const sector0 = read(0, SECTOR_SIZE)
  if (!parseMbr(sector0).signatureValid) {
    return fail([], {
      code: 'no-mbr-signature',
      message: 'no 0x55AA signature at byte 510: the BIOS skips the disk ("No bootable device")',
      fix: `write a partition table with boot code (${BOOTCODE}), or use firmware: uefi if the disk has an ESP`,
    })
  }
  const code = sector0.subarray(0, 440)
  if (isZero(code)) {
    return fail([], {
      code: 'no-boot-code',
      message: 'the MBR holds a partition table but no boot code (bytes 0-439 are zero): the BIOS has nothing to run',
      fix: `install boot code: ${BOOTCODE} (GPT) or gpart bootcode -b /boot/mbr ada0 (MBR)`,
    })
  }
  const grub = code.includes(Buffer.from('GRUB'))
  const chain = [grub ? 'GRUB boot code in the MBR' : 'boot code in the MBR']
  const problems: Finding[] = []
  if (layout.table.kind === 'gpt') {
    const stage = layout.table.entries.find((e) => e.type === GPT_TYPE_FREEBSD_BOOT || e.type === GPT_TYPE_BIOS_BOOT)
    if (stage === undefined) {
      return fail(chain, {
        code: 'no-freebsd-boot',
        message: 'the GPT has no freebsd-boot (or BIOS boot) partition: the MBR code has nothing to load',
        fix: `gpart add -t freebsd-boot -s 512k ada0, then ${BOOTCODE}`,
      })
    }
    const p = stageProblem(read, size, stage)
    if (p !== null) return fail(chain, p)
    chain.push(`${stage.type === GPT_TYPE_BIOS_BOOT ? 'GRUB core' : 'gptboot'} in GPT partition ${stage.index}`)
  } else {
    const active = layout.table.entries.filter((e) => e.active)
    const target = active[0] ?? (grub ? layout.table.entries[0] : undefined)
    if (target === undefined) {
      return fail(chain, {
        code: 'no-active-slice',
        message: "no slice is marked active: FreeBSD's mbr (like most MBR code) boots the active slice",
        fix: 'gpart set -a active -i 1 ada0 (or install boot0: gpart bootcode -b /boot/boot0 ada0)',
      })
    }
    if (target.type === `0x${MBR_TYPE_FREEBSD.toString(16)}`) {
      const vbr = target.start + SECTOR_SIZE <= size ? read(target.start, SECTOR_SIZE) : Buffer.alloc(SECTOR_SIZE)
      if (vbr.readUInt16LE(510) !== 0xaa55 || isZero(vbr.subarray(0, 446))) {
        return fail(chain, {
          code: 'no-boot1',
          message: `slice ${target.index} is active but its first sector holds no boot1 (boot code and 0x55AA): the MBR code refuses it`,
          fix: `gpart bootcode -b /boot/boot ada0s${target.index}`,
        })
      }
      chain.push(`boot1/boot2 in slice ${target.index}`)
    } else {
      chain.push(`slice ${target.index} (${target.type_name})`)
    }
  }
  const r = rootProblems(root, parts, 'bios')
  problems.push(...r.problems)
  return { firmware: 'bios', boots: problems.length === 0, chain: [...chain, ...r.chain], problems }
}

function stageProblem(read: ReadAt, size: number, e: TableEntry): Finding | null {
  if (e.start + SECTOR_SIZE > size || isZero(read(e.start, SECTOR_SIZE))) {
    return { code: 'freebsd-boot-empty', message: `GPT partition ${e.index} (${e.type_name}) is empty: no boot code to load`, fix: BOOTCODE }
  }
  if (e.type === GPT_TYPE_FREEBSD_BOOT && e.size > PMBR_MAX) {
    return {
      code: 'freebsd-boot-too-big',
      message: `freebsd-boot (GPT partition ${e.index}) is ${Math.round(e.size / 1024)} KiB: pmbr loads at most 545 KiB`,
      fix: 'recreate it at 512 KiB (gpart add -t freebsd-boot -s 512k), then install gptboot again',
    }
  }
  return null
}
