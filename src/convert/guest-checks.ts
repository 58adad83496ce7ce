import type { UfsVolume } from '../image/ufs.js'
import { classifyDisk, fstabRoot, kernelEnv, loaderConf, mountfromDevice, ttysLine } from '../preflight/guest-files.js'
import { readText } from '../preflight/root-fs.js'
import type { ConvertItem } from './report.js'

/** What FreeBSD names the first disk of an HVM guest on XCP-ng: ada (blkfront and the emulated IDE both). */
export function hvmDiskName(device: string): string {
  return device.replace(/^\/dev\/xbd(\d+)/, '/dev/ada$1')
}
const LABEL_FIX = 'or give the root a UFS label, which both PV and HVM guests see: tunefs -L rootfs <device> (single-user), then /dev/ufs/rootfs'

/** /etc/fstab lines whose device is a Xen PV disk (xbd): an HVM guest has ada instead. */
export function fstabItem(volume: UfsVolume): ConvertItem {
  const t = readText(volume, '/etc/fstab')
  if (!('text' in t))
    return {
      id: 'fstab',
      status: 'blocks',
      message: 'no readable /etc/fstab: the loader finds no root to hand the kernel',
      fixed_by: 'guest',
      fix: 'add "/dev/ada0s1a / ufs rw 1 1" to /etc/fstab inside the guest',
    }
  const pv = t.text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
    .filter((f) => f.length >= 2 && classifyDisk(f[0] ?? '').kind === 'pv')
  if (pv.length === 0) return { id: 'fstab', status: 'ok', message: `/etc/fstab names no Xen PV disk (root: ${fstabRoot(t.text) ?? 'none'})`, fixed_by: 'nothing', fix: '' }
  const list = pv.map((f) => `${f[0]} on ${f[1]}`).join(', ')
  const root = pv.some((f) => f[1] === '/')
  return {
    id: 'fstab',
    status: 'blocks',
    fixed_by: 'guest',
    message: `/etc/fstab mounts ${list}: xbd is the PV disk name; as an HVM guest the disk is ada0${root ? ', so the kernel stops at mountroot>' : ', so those mounts fail and rc drops to single-user'}`,
    fix: `inside the guest, before the switch: ${pv.map((f) => `${f[0]} → ${hvmDiskName(f[0] ?? '')}`).join(', ')} in /etc/fstab (mountroot> accepts ufs:${hvmDiskName(pv[0]?.[0] ?? '/dev/xbd0s1a')} once if forgotten), ${LABEL_FIX}`,
  }
}

/**
 * vfs.root.mountfrom: in /boot/loader.conf the HVM loader passes it on, so an xbd
 * name there blocks; in PV-args it reached the kernel only through pygrub, which an
 * HVM guest does not run, so it is dropped (kept in other_config for --undo).
 */
export function mountfromItems(volume: UfsVolume, pvArgs: string): ConvertItem[] {
  const out: ConvertItem[] = []
  const conf = readText(volume, '/boot/loader.conf')
  const spec = 'text' in conf ? loaderConf(conf.text, 'vfs.root.mountfrom') : null
  if (spec !== null) {
    const dev = mountfromDevice(spec)
    if (classifyDisk(dev).kind === 'pv') {
      out.push({
        id: 'loader-conf-mountfrom',
        status: 'blocks',
        fixed_by: 'guest',
        message: `/boot/loader.conf sets vfs.root.mountfrom=${spec}: an HVM guest has no ${dev}`,
        fix: `inside the guest: vfs.root.mountfrom="ufs:${hvmDiskName(dev)}" in /boot/loader.conf, or delete the line (the loader then takes the root from /etc/fstab)`,
      })
    } else {
      out.push({ id: 'loader-conf-mountfrom', status: 'ok', fixed_by: 'nothing', message: `/boot/loader.conf sets vfs.root.mountfrom=${spec}`, fix: '' })
    }
  }
  const arg = kernelEnv(pvArgs, 'vfs.root.mountfrom')
  if (arg !== null) {
    out.push({
      id: 'pv-args-mountfrom',
      status: 'ok',
      fixed_by: 'convert',
      message: `PV-args sets vfs.root.mountfrom=${arg}; an HVM guest gets no PV-args, the switch clears them (kept in other_config)`,
      fix: 'the loader takes the root from /etc/fstab (see the fstab item)',
    })
  }
  return out
}

/**
 * HVM consoles on XCP-ng: the VGA console (ttyv0, the console tab) and the emulated
 * serial port (ttyu0). A missing getty leaves a guest that boots but where nobody can
 * log in on the console: a warning, since ssh may still reach it.
 */
export function consoleItem(volume: UfsVolume): ConvertItem {
  const t = readText(volume, '/etc/ttys')
  if (!('text' in t))
    return {
      id: 'console',
      status: 'warn',
      fixed_by: 'guest',
      message: 'no readable /etc/ttys: no login prompt on any console',
      fix: "install FreeBSD's /etc/ttys inside the guest (ttyv0 on, ttyu0 onifconsole)",
    }
  const vga = ttysLine(t.text, 'ttyv0') === 'on'
  const serial = ttysLine(t.text, 'ttyu0') === 'on'
  if (vga && serial) return { id: 'console', status: 'ok', fixed_by: 'nothing', message: 'getty on ttyv0 (VGA console) and ttyu0 (serial line)', fix: '' }
  const xc0 = ttysLine(t.text, 'xc0') === 'on' ? '; xc0 (the PV console) does not exist in an HVM guest' : ''
  const missing = [vga ? null : 'ttyv0 (the VGA console XCP-ng shows)', serial ? null : 'ttyu0 (the HVM serial line)'].filter((x) => x !== null).join(' and ')
  return {
    id: 'console',
    status: 'warn',
    fixed_by: 'guest',
    message: `no getty on ${missing}${xc0}: ${vga ? 'no login on the serial line' : 'no login prompt on the HVM console'}`,
    fix: 'inside the guest, in /etc/ttys: ttyv0 "/usr/libexec/getty Pc" xterm on secure, and ttyu0 "/usr/libexec/getty std.9600" vt100 onifconsole secure (FreeBSD 9 has no onifconsole: use on)',
  }
}
