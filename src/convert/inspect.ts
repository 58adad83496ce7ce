import type { ReadAt } from '../image/read-at.js'
import { preflightHvm } from '../preflight/hvm.js'
import type { FirmwareVerdict } from '../preflight/hvm-report.js'
import { findHvmRoot, identifyPartitions, BIOS_LOADER } from '../preflight/hvm-root.js'
import { readLayout } from '../preflight/layout.js'
import { DEFAULT_KERNEL } from '../preflight/preflight.js'
import { assertPreserved, patchedReadAt, planBootBlocks, type BootPlan } from './boot-blocks.js'
import { consoleItem, fstabItem, mountfromItems } from './guest-checks.js'
import { kernelItems } from './kernel-checks.js'
import type { ConvertItem } from './report.js'

export interface GuestInspection {
  items: ConvertItem[]
  plan: BootPlan
  biosNow: FirmwareVerdict
  biosAfter: FirmwareVerdict
}

/**
 * Everything `convert` learns from the disk, pure over `read`: the boot chain an HVM
 * BIOS would follow (the HVM preflight's own rules, which the simulator's firmware
 * applies too), the boot blocks the guest's /boot could fill in, and the guest's files
 * that name PV devices or consoles. `pvArgs` is the VM's PV-args (kernel command line).
 */
export function inspectGuest(read: ReadAt, size: number, pvArgs: string): GuestInspection {
  const layout = readLayout(read, size)
  const parts = identifyPartitions(read, size, layout)
  const found = findHvmRoot(read, size, layout, parts, DEFAULT_KERNEL)
  const volume = found?.volume ?? null
  const plan = planBootBlocks(read, size, layout, volume)
  assertPreserved(plan)
  const items: ConvertItem[] = [...plan.items]
  if (found === null || volume === null) {
    const why = found === null ? 'no UFS root file system was found' : `the root (${found.root.where}, ${found.root.fs}) is not a readable UFS`
    items.push({
      id: 'root',
      status: 'blocks',
      fixed_by: 'guest',
      message: `${why}: /boot/loader, the kernel and /etc were not checked`,
      fix: 'check the partition table and the root file system (fsck_ffs) inside the guest',
    })
  } else {
    const loader = found.root.loader
    items.push(
      loader === 'present'
        ? { id: 'loader', status: 'ok', fixed_by: 'nothing', message: `${BIOS_LOADER} is in ${found.root.where}`, fix: '' }
        : {
            id: 'loader',
            status: 'blocks',
            fixed_by: 'guest',
            message: `no ${BIOS_LOADER} in ${found.root.where} (${loader}): boot2/gptboot have nothing to start; pygrub never needed it`,
            fix: "inside the guest: install the world's boot files (make installworld installs /boot/loader, boot0, boot, pmbr, gptboot), or copy /boot from the same release",
          },
    )
    items.push(...kernelItems(volume), fstabItem(volume), ...mountfromItems(volume, pvArgs), consoleItem(volume))
  }
  const biosNow = preflightHvm(read, size).verdicts.bios
  const biosAfter = plan.patches.length === 0 ? biosNow : preflightHvm(patchedReadAt(read, plan.patches), size).verdicts.bios
  return { items, plan, biosNow, biosAfter }
}

/** Nothing blocks but what this command fixes itself (the switch, and boot blocks with --install-bootcode). */
export function convertible(items: readonly ConvertItem[], installBootcode: boolean): boolean {
  return items.every((i) => i.status !== 'blocks' || i.fixed_by === 'convert' || (i.fixed_by === 'install-bootcode' && installBootcode))
}
