import { ImageFormatError, ImagePathError } from '../image/errors.js'
import type { UfsVolume } from '../image/ufs.js'
import { fstabRoot, loaderConf, ttysLine } from './guest-files.js'
import type { HvmRoot } from './hvm-report.js'
import type { Finding } from './report.js'
import { readText } from './root-fs.js'

/**
 * Disk names an HVM FreeBSD guest on XCP-ng does not have. Its disks are IDE-numbered
 * (hda…), which blkfront, like the emulated controller, names ada; xbd is the PV name,
 * vtbd/nvd/nda/da come from images built for KVM, bhyve, EC2 or VMware.
 */
const FOREIGN: Record<string, string> = {
  xbd: "the Xen PV name (a PV guest's disk)",
  vtbd: 'virtio_blk (KVM, bhyve)',
  nvd: 'NVMe (EC2, bare metal)',
  nda: 'NVMe (EC2, bare metal)',
  da: 'SCSI (VMware, USB)',
  ad: 'the pre-FreeBSD 9 ATA driver',
}
const LABEL = /^\/dev\/(gpt|gptid|ufs|ufsid|label|diskid)\//
/** Terminals XCP-ng shows: the VGA console (ttyv0), the serial port (ttyu0), the Xen PV console (xc0). */
const CONSOLES = ['ttyv0', 'ttyu0', 'xc0']
const TOOLS = ['/usr/local/sbin/xe-daemon', '/usr/local/etc/rc.d/xenguest']

/** What would let the firmware boot the guest and still leave it unusable or invisible to XAPI. */
export function hvmGuestWarnings(root: HvmRoot | null, volume: UfsVolume | null): Finding[] {
  if (root === null) return []
  if (volume === null) {
    const what = root.fs === 'ZFS' ? 'a ZFS pool, which the preflight does not read' : `${root.fs}, which the preflight does not read`
    return [
      {
        code: 'guest-unchecked',
        message: `the root (${root.where}) is ${what}: its loader, kernel, fstab, console and guest tools were not checked`,
        fix: 'check them in the guest: /etc/fstab, a getty on the console, xe-guest-utilities',
      },
    ]
  }
  return [...fstab(volume), ...consoles(volume), ...tools(volume)]
}

function fstab(volume: UfsVolume): Finding[] {
  const t = readText(volume, '/etc/fstab')
  if (!('text' in t))
    return [{ code: 'fstab-missing', message: 'no readable /etc/fstab: FreeBSD leaves / read-only', fix: 'add "/dev/gpt/rootfs / ufs rw 1 1" (a GPT label does not depend on the disk driver)' }]
  const dev = fstabRoot(t.text)
  if (dev === null) return [{ code: 'fstab-no-root', message: '/etc/fstab has no line for /', fix: 'add "/dev/gpt/rootfs / ufs rw 1 1"' }]
  if (LABEL.test(dev)) return []
  const m = /^\/dev\/([a-z]+?)(\d+)(.*)$/.exec(dev)
  const driver = m?.[1] ?? ''
  const why = FOREIGN[driver]
  if (why === undefined) return []
  return [
    {
      code: 'root-not-hvm',
      message: `/etc/fstab mounts / from ${dev}, ${why}; an HVM guest on XCP-ng sees its disk as ada${m?.[2] ?? '0'}`,
      fix: `use a label (/dev/gpt/rootfs, gpart modify -l rootfs) or /dev/ada${m?.[2] ?? '0'}${m?.[3] ?? ''}`,
    },
  ]
}

function consoles(volume: UfsVolume): Finding[] {
  const t = readText(volume, '/etc/ttys')
  if (!('text' in t))
    return [{ code: 'ttys-missing', message: 'no readable /etc/ttys: init starts no getty, nobody can log in on any console', fix: "install FreeBSD's /etc/ttys (ttyv0 on, ttyu0 onifconsole)" }]
  if (CONSOLES.some((c) => ttysLine(t.text, c) === 'on')) return []
  return [
    {
      code: 'no-console-getty',
      message: 'no getty on ttyv0 (VGA), ttyu0 (serial) or xc0 (Xen console) in /etc/ttys: no login prompt on the XCP-ng console',
      fix: 'switch ttyv0 on in /etc/ttys (and ttyu0 onifconsole for a serial console)',
    },
  ]
}

function tools(volume: UfsVolume): Finding[] {
  const installed = TOOLS.some((p) => exists(volume, p))
  if (!installed)
    return [
      {
        code: 'no-guest-tools',
        message: "no Xen guest tools (xe-guest-utilities): XAPI will not see the guest's IP addresses or OS, and clean shutdown needs ACPI",
        fix: 'pkg install xe-guest-utilities; sysrc xenguest_enable=YES',
      },
    ]
  const rc = readText(volume, '/etc/rc.conf')
  const enabled = 'text' in rc && /^(YES|TRUE|ON|1)$/i.test(loaderConf(rc.text, 'xenguest_enable') ?? '')
  return enabled
    ? []
    : [{ code: 'guest-tools-off', message: 'xe-guest-utilities is installed but xenguest_enable is not YES in /etc/rc.conf: the daemon will not start', fix: 'sysrc xenguest_enable=YES' }]
}

function exists(volume: UfsVolume, path: string): boolean {
  try {
    volume.lookup(path)
    return true
  } catch (e) {
    if (e instanceof ImagePathError || e instanceof ImageFormatError) return false
    throw e
  }
}
