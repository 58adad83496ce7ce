import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * The outside programs some tests run: Debian's tools as oracles (real pygrub, makefs,
 * sfdisk, grub-fstest...) and the two interpreters a few tests drive (python3, openssl).
 * One row per tool: the Debian package that installs it, and where it lives when that
 * is not on a user's PATH. `.ci/run` installs every package named here.
 *
 * No vitest import: the reporter (main process) reads this table too.
 */
export const ORACLES = {
  pygrub: { pkg: 'xen-utils-4.17', dirs: ['/usr/lib/xen-4.17/bin'] },
  makefs: { pkg: 'makefs', dirs: [] },
  sfdisk: { pkg: 'fdisk', dirs: [] },
  sgdisk: { pkg: 'gdisk', dirs: [] },
  'grub-fstest': { pkg: 'grub-common', dirs: [] },
  'qemu-img': { pkg: 'qemu-utils', dirs: [] },
  'mkfs.fat': { pkg: 'dosfstools', dirs: [] },
  'fsck.fat': { pkg: 'dosfstools', dirs: [] },
  mcopy: { pkg: 'mtools', dirs: [] },
  mdir: { pkg: 'mtools', dirs: [] },
  mmd: { pkg: 'mtools', dirs: [] },
  mtype: { pkg: 'mtools', dirs: [] },
  xz: { pkg: 'xz-utils', dirs: [] },
  // The config drive's oracles (issue 12): cloud-init validates user data and reads a NoCloud seed; blkid reads the label.
  'cloud-init': { pkg: 'cloud-init', dirs: [] },
  blkid: { pkg: 'util-linux', dirs: [] },
  openssl: { pkg: 'openssl', dirs: [] },
  python3: { pkg: 'python3', dirs: [] },
  'ansible-playbook': { pkg: 'ansible', dirs: [] },
  // A Python module, not a program: Citrix's XenAPI.py as Debian ships it inside os-xenapi
  // (Apache-2.0), imported by Ansible's xenserver modules and the SDK example scripts.
  'XenAPI.py': { pkg: 'python3-os-xenapi', dirs: ['/usr/lib/python3/dist-packages/os_xenapi/client'], module: true },
} as const satisfies Record<string, { pkg: string; dirs: readonly string[]; module?: boolean }>

export type OracleName = keyof typeof ORACLES

/** sbin is not on a Debian user's PATH, yet makefs and sfdisk live there. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin']

function executable(path: string, mode = constants.X_OK): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, mode)
    return true
  } catch {
    return false
  }
}

const found = new Map<OracleName, string | undefined>()

/** Where the tool is: PATH first, then sbin and the package's own directory; undefined when absent. */
export function findOracle(name: OracleName): string | undefined {
  if (found.has(name)) return found.get(name)
  const row: { dirs: readonly string[]; module?: boolean } = ORACLES[name]
  // A module is looked for in its package's directory only, and need only be readable.
  const dirs = row.module ? row.dirs : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN, ...row.dirs]
  const path = dirs.map((d) => join(d, name)).find((p) => executable(p, row.module ? constants.R_OK : constants.X_OK))
  found.set(name, path)
  return path
}

export const missingOracles = (names: readonly OracleName[]): OracleName[] => names.filter((n) => findOracle(n) === undefined)

/** "pygrub, makefs missing — apt-get install xen-utils-4.17 makefs": one command to paste. */
export function describeMissing(names: Iterable<OracleName>): string {
  const tools = [...new Set(names)].sort()
  const pkgs = [...new Set(tools.map((n) => ORACLES[n].pkg))]
  return `${tools.join(', ')} missing — apt-get install ${pkgs.join(' ')}`
}

/**
 * Whether a missing tool fails the run instead of skipping its tests: under CI (CI=true,
 * as GitHub Actions and most runners set it) or XCP_REQUIRE_ORACLES=1. XCP_REQUIRE_ORACLES=0
 * allows skipping even under CI, for a runner that deliberately lacks a tool.
 */
export function oraclesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const explicit = env.XCP_REQUIRE_ORACLES
  if (explicit === '1' || explicit === 'true') return true
  if (explicit === '0' || explicit === 'false') return false
  return env.CI === 'true' || env.CI === '1'
}
