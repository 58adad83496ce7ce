import type { UfsVolume } from '../image/ufs.js'
import { classifyDisk, fstabRoot, kernelEnv, loaderConf, mountfromDevice, ttysXenConsole } from './guest-files.js'
import type { Finding } from './report.js'
import { readText } from './root-fs.js'

const XC0_LINE = 'xc0 "/usr/libexec/getty Pc" vt100 on secure'
const PV_ROOT = '/dev/xbd0s1a'

/**
 * What would let pygrub boot the kernel and still leave the guest unusable: a root
 * device named for another disk driver, no login on the Xen console, no root device
 * handed to the kernel. `kernelArgs` is everything that reaches the kernel's
 * environment: PV-args plus pygrub's --args.
 */
export function guestWarnings(volume: UfsVolume | null, kernelArgs: string): Finding[] {
  const out: Finding[] = []
  let root: string | null = null
  if (volume === null) {
    out.push({ code: 'guest-unchecked', message: 'no readable UFS root file system, so /etc/fstab and /etc/ttys were not checked', fix: 'fix the problems above, then check the image again' })
  } else {
    root = checkFstab(volume, out)
    checkTtys(volume, out)
  }
  checkMountfrom(volume, kernelArgs, root, out)
  return out
}

function checkFstab(volume: UfsVolume, out: Finding[]): string | null {
  const fstab = readText(volume, '/etc/fstab')
  const line = `${PV_ROOT}  /  ufs  rw  1  1`
  if ('missing' in fstab) {
    out.push({ code: 'fstab-missing', message: 'no /etc/fstab: FreeBSD leaves / read-only and mounts nothing else', fix: `add "${line}" to /etc/fstab` })
    return null
  }
  if ('error' in fstab) {
    out.push({ code: 'fstab-unreadable', message: `/etc/fstab cannot be read: ${fstab.error}`, fix: 'rebuild the image; the file system looks damaged' })
    return null
  }
  const root = fstabRoot(fstab.text)
  if (root === null) {
    out.push({ code: 'fstab-no-root', message: '/etc/fstab has no line for /', fix: `add "${line}" to /etc/fstab` })
    return null
  }
  const disk = classifyDisk(root)
  if (disk.kind === 'other-driver') {
    out.push({ code: 'root-not-pv', message: `/etc/fstab mounts / from ${root}, the name ${disk.driver} gives the disk; a PV guest sees it as xbd`, fix: `change it to ${disk.pvName} in /etc/fstab` })
  } else if (disk.kind === 'unknown') {
    out.push({
      code: 'root-not-pv',
      message: `/etc/fstab mounts / from ${root}, which is not a Xen PV disk name (${PV_ROOT} and friends)`,
      fix: `use ${PV_ROOT} (or a GEOM label such as /dev/ufs/rootfs) in /etc/fstab`,
    })
  }
  return root
}

function checkTtys(volume: UfsVolume, out: Finding[]): void {
  const ttys = readText(volume, '/etc/ttys')
  if ('missing' in ttys) {
    out.push({ code: 'ttys-missing', message: 'no /etc/ttys: init starts no getty, so nobody can log in on the Xen console', fix: `install /etc/ttys with the line: ${XC0_LINE}` })
  } else if ('error' in ttys) {
    out.push({ code: 'ttys-unreadable', message: `/etc/ttys cannot be read: ${ttys.error}`, fix: 'rebuild the image; the file system looks damaged' })
  } else {
    const xc0 = ttysXenConsole(ttys.text)
    if (xc0 === 'absent') out.push({ code: 'no-xen-console', message: 'no xc0 line in /etc/ttys: no login prompt on the Xen console', fix: `append to /etc/ttys: ${XC0_LINE}` })
    if (xc0 === 'off') out.push({ code: 'xen-console-off', message: 'the xc0 line in /etc/ttys is off: no login prompt on the Xen console', fix: `switch it on: ${XC0_LINE}` })
  }
}

function checkMountfrom(volume: UfsVolume | null, kernelArgs: string, fstabDev: string | null, out: Finding[]): void {
  const spec = kernelEnv(kernelArgs, 'vfs.root.mountfrom')
  const fstabKind = fstabDev === null ? null : classifyDisk(fstabDev)
  const suggested = fstabKind === null ? PV_ROOT : fstabKind.kind === 'other-driver' ? fstabKind.pvName : fstabKind.kind === 'unknown' ? PV_ROOT : (fstabDev ?? PV_ROOT)
  if (spec === null) {
    const conf = volume === null ? null : readText(volume, '/boot/loader.conf')
    const inConf = conf !== null && 'text' in conf ? loaderConf(conf.text, 'vfs.root.mountfrom') : null
    const aside = inConf === null ? '' : ` (/boot/loader.conf sets it to ${inConf}, but nothing reads that file)`
    out.push({
      code: 'no-mountfrom',
      message: `no vfs.root.mountfrom reaches the kernel: pygrub does not run /boot/loader, and PV-args does not set it${aside}; the kernel will stop at the mountroot> prompt`,
      fix: `set pv.args (PV-args) to vfs.root.mountfrom=ufs:${suggested}`,
    })
    return
  }
  const dev = mountfromDevice(spec)
  const kind = classifyDisk(dev)
  if (kind.kind === 'other-driver' || kind.kind === 'unknown') {
    out.push({
      code: 'mountfrom-not-pv',
      message: `PV-args mounts the root from ${dev}, which is not a Xen PV disk name (${PV_ROOT} and friends)`,
      fix: `set vfs.root.mountfrom=ufs:${kind.kind === 'other-driver' ? kind.pvName : suggested} in pv.args`,
    })
  } else if (fstabDev !== null && fstabKind?.kind !== 'other-driver' && fstabKind?.kind !== 'unknown' && dev !== fstabDev) {
    out.push({ code: 'mountfrom-mismatch', message: `PV-args mounts the root from ${dev} but /etc/fstab names ${fstabDev}`, fix: 'make them name the same device' })
  }
}
