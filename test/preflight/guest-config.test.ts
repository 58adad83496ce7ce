import { describe, expect, it } from 'vitest'
import { extentsReadAt } from '../../src/image/extents.js'
import { SAMPLE_FSTAB, SAMPLE_TTYS } from '../../src/image/sample-image.js'
import { openUfs } from '../../src/image/ufs.js'
import { buildUfs1 } from '../../src/image/ufs1-writer.js'
import type { Ufs1Tree } from '../../src/image/ufs1-tree.js'
import { guestWarnings } from '../../src/preflight/guest-config.js'
import { classifyDisk, fstabRoot, kernelEnv, mountfromDevice, ttysXenConsole } from '../../src/preflight/guest-files.js'

const SIZE = 4 * 1024 * 1024
const MOUNTFROM = 'vfs.root.mountfrom=ufs:/dev/xbd0s1a'

function codes(files: Ufs1Tree, kernelArgs = MOUNTFROM): string[] {
  const vol = openUfs(extentsReadAt(buildUfs1({ size: SIZE, files }).extents), SIZE)
  return guestWarnings(vol, kernelArgs).map((w) => w.code)
}
const HOWTO = { '/etc/fstab': Buffer.from(SAMPLE_FSTAB), '/etc/ttys': Buffer.from(SAMPLE_TTYS) }

describe('guest files', () => {
  it('finds the root device in fstab, ignoring comments', () => {
    expect(fstabRoot(SAMPLE_FSTAB)).toBe('/dev/xbd0s1a')
    expect(fstabRoot('# /dev/ada0s1a / ufs rw 1 1\n/dev/ada0s1b none swap sw 0 0\n/dev/ada0s1a\t/\tufs\trw\t1\t1\n')).toBe('/dev/ada0s1a')
    expect(fstabRoot('/dev/xbd0s1d /tmp ufs rw 2 2\n')).toBeNull()
  })

  it('reads the xc0 status from ttys, with the quoted getty as one field', () => {
    expect(ttysXenConsole(SAMPLE_TTYS)).toBe('on')
    expect(ttysXenConsole('xc0 "/usr/libexec/getty Pc" vt100 off secure\n')).toBe('off')
    expect(ttysXenConsole('xc0\t"/usr/libexec/getty 3wire"\tvt100\tonifconsole secure\n')).toBe('on')
    expect(ttysXenConsole('# xc0 "/usr/libexec/getty Pc" vt100 on secure\nttyv0 "/usr/libexec/getty Pc" xterm on secure\n')).toBe('absent')
  })

  it('reads vfs.root.mountfrom from a kernel command line, the last one winning', () => {
    expect(kernelEnv('boot_verbose=1 vfs.root.mountfrom=ufs:/dev/ada0s1a vfs.root.mountfrom=ufs:xbd0s1a', 'vfs.root.mountfrom')).toBe('ufs:xbd0s1a')
    expect(kernelEnv('', 'vfs.root.mountfrom')).toBeNull()
    expect(mountfromDevice('ufs:xbd0s1a')).toBe('/dev/xbd0s1a')
  })

  it('tells PV disk names from other drivers and proposes the PV name', () => {
    expect(classifyDisk('/dev/xbd0s1a')).toEqual({ kind: 'pv' })
    expect(classifyDisk('/dev/ufs/rootfs')).toEqual({ kind: 'label' })
    expect(classifyDisk('/dev/ada0s1a')).toMatchObject({ kind: 'other-driver', pvName: '/dev/xbd0s1a' })
    expect(classifyDisk('/dev/ad1s2d')).toMatchObject({ kind: 'other-driver', pvName: '/dev/xbd1s2d' })
    expect(classifyDisk('/dev/da0p2')).toMatchObject({ kind: 'other-driver', pvName: '/dev/xbd0p2' })
    expect(classifyDisk('/dev/md0')).toEqual({ kind: 'unknown' })
  })
})

describe('guest warnings read from the root file system', () => {
  it('has nothing to say about the HOWTO guest', () => {
    expect(codes(HOWTO)).toEqual([])
  })

  it('warns when fstab names the root by an installer driver', () => {
    expect(codes({ ...HOWTO, '/etc/fstab': Buffer.from('/dev/ada0s1a / ufs rw 1 1\n') }, 'vfs.root.mountfrom=ufs:/dev/xbd0s1a')).toEqual(['root-not-pv'])
    expect(codes({ ...HOWTO, '/etc/fstab': Buffer.from('/dev/ad0s1a / ufs rw 1 1\n') })).toEqual(['root-not-pv'])
  })

  it('warns when there is no fstab, or no root line in it', () => {
    expect(codes({ '/etc/ttys': Buffer.from(SAMPLE_TTYS) })).toEqual(['fstab-missing'])
    expect(codes({ ...HOWTO, '/etc/fstab': Buffer.from('# nothing\n') })).toEqual(['fstab-no-root'])
  })

  it('warns when no xc0 console line is switched on', () => {
    expect(codes({ ...HOWTO, '/etc/ttys': Buffer.from('ttyv0 "/usr/libexec/getty Pc" xterm on secure\n') })).toEqual(['no-xen-console'])
    expect(codes({ ...HOWTO, '/etc/ttys': Buffer.from('xc0 "/usr/libexec/getty Pc" vt100 off secure\n') })).toEqual(['xen-console-off'])
    expect(codes({ '/etc/fstab': Buffer.from(SAMPLE_FSTAB) })).toEqual(['ttys-missing'])
  })

  it('warns when no vfs.root.mountfrom reaches the kernel, and says loader.conf is not read', () => {
    const vol = openUfs(extentsReadAt(buildUfs1({ size: SIZE, files: { ...HOWTO, '/boot/loader.conf': Buffer.from('vfs.root.mountfrom="ufs:/dev/xbd0s1a"\n') } }).extents), SIZE)
    const [w] = guestWarnings(vol, '')
    expect(w?.code).toBe('no-mountfrom')
    expect(w?.message).toContain('/boot/loader.conf sets it to ufs:/dev/xbd0s1a, but nothing reads that file')
    expect(w?.fix).toBe('set pv.args (PV-args) to vfs.root.mountfrom=ufs:/dev/xbd0s1a')
  })

  it('warns when PV-args mounts the root from a non-PV name, or from another device than fstab', () => {
    expect(codes(HOWTO, 'vfs.root.mountfrom=ufs:/dev/ada0s1a')).toEqual(['mountfrom-not-pv'])
    expect(codes(HOWTO, 'vfs.root.mountfrom=ufs:/dev/xbd0s1d')).toEqual(['mountfrom-mismatch'])
    expect(codes(HOWTO, 'vfs.root.mountfrom=ufs:xbd0s1a')).toEqual([])
  })

  it('still checks PV-args when the root cannot be read', () => {
    expect(guestWarnings(null, '').map((w) => w.code)).toEqual(['guest-unchecked', 'no-mountfrom'])
  })
})
