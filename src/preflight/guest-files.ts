/** Pure parsers for the few guest files and strings the preflight reads. */

const stripComment = (line: string): string => {
  const hash = line.indexOf('#')
  return (hash < 0 ? line : line.slice(0, hash)).trim()
}

/** fstab(5): the device mounted on "/", or null when no line mounts the root. */
export function fstabRoot(text: string): string | null {
  for (const line of text.split('\n')) {
    const f = stripComment(line).split(/\s+/)
    if (f.length >= 2 && f[1] === '/') return f[0] ?? null
  }
  return null
}

/** ttys(5) fields, with the quoted getty command kept as one field. */
function ttysFields(line: string): string[] {
  return [...stripComment(line).matchAll(/"[^"]*"|\S+/g)].map((m) => m[0])
}

/** Statuses under which init(8) runs the getty; onifconsole/onifexists are FreeBSD 11+. */
const STATUS_ON = new Set(['on', 'onifconsole', 'onifexists'])

/** The status of the `xc0` line (Xen's console) in ttys(5): 'on', 'off', or 'absent'. */
export function ttysXenConsole(text: string): 'on' | 'off' | 'absent' {
  return ttysLine(text, 'xc0')
}

/** Whether init(8) runs a getty on terminal `name` (ttyv0, ttyu0, xc0): 'on', 'off', or 'absent'. */
export function ttysLine(text: string, name: string): 'on' | 'off' | 'absent' {
  let found: 'off' | 'absent' = 'absent'
  for (const line of text.split('\n')) {
    const f = ttysFields(line)
    if (f[0] !== name) continue
    if (STATUS_ON.has(f[3] ?? '')) return 'on'
    found = 'off'
  }
  return found
}

/** The value of `key=value` in a kernel command line or loader.conf-style text (last one wins, as in kenv). */
export function kernelEnv(text: string, key: string): string | null {
  let value: string | null = null
  for (const token of text.split(/\s+/)) {
    const eq = token.indexOf('=')
    if (eq > 0 && token.slice(0, eq) === key) value = token.slice(eq + 1).replace(/^"(.*)"$/, '$1')
  }
  return value
}

/** loader.conf(5): `key="value"` lines; comments and blank lines ignored. */
export function loaderConf(text: string, key: string): string | null {
  return kernelEnv(text.split('\n').map(stripComment).join('\n'), key)
}

/** `ufs:/dev/xbd0s1a` or `ufs:xbd0s1a` → `/dev/xbd0s1a`; only the first of several specs counts. */
export function mountfromDevice(spec: string): string {
  const first = spec.split(/[\s,]+/)[0] ?? ''
  const dev = first.includes(':') ? first.slice(first.indexOf(':') + 1) : first
  return dev.startsWith('/dev/') ? dev : `/dev/${dev}`
}

/** Drivers whose disk names an installer or an HVM guest writes, and what PV calls the same disk. */
const NON_PV_DRIVERS: Record<string, string> = {
  ad: 'ata(4) (FreeBSD 8 and older)',
  ada: 'ada(4) (SATA)',
  da: 'da(4) (SCSI, USB)',
  vtbd: 'virtio_blk(4)',
  nvd: 'nvd(4) (NVMe)',
  nda: 'nda(4) (NVMe)',
}

/** Device names that do not depend on the disk driver: GEOM labels. */
const LABEL_DIRS = /^\/dev\/(ufs|ufsid|gpt|gptid|label)\//

export type DiskName = { kind: 'pv' } | { kind: 'label' } | { kind: 'other-driver'; driver: string; pvName: string } | { kind: 'unknown' }

/** Classifies a root device: a Xen PV disk (xbd), a GEOM label, or another driver's name. */
export function classifyDisk(device: string): DiskName {
  if (/^\/dev\/xbd\d+/.test(device)) return { kind: 'pv' }
  if (LABEL_DIRS.test(device)) return { kind: 'label' }
  const m = /^\/dev\/([a-z]+)(\d+)(.*)$/.exec(device)
  const driver = m === null ? undefined : NON_PV_DRIVERS[m[1] ?? '']
  if (m !== null && driver !== undefined) return { kind: 'other-driver', driver, pvName: `/dev/xbd${m[2]}${m[3]}` }
  return { kind: 'unknown' }
}
