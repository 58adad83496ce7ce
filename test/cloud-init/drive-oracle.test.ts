import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { findOracle, needs } from '../support/oracles.js'
import { buildDrive, type DriveContent } from '../../src/cloud-init/drive.js'
import { writeExtentsFile } from '../../src/image/write-image.js'

const tools = needs('fsck.fat', 'mdir', 'mtype')
let dir: string
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'drive-'))))
afterAll(() => rm(dir, { recursive: true, force: true }))

const CONTENT: DriveContent = {
  datasource: 'nocloud',
  metaData: { 'instance-id': '3f1c2a9e-0000-4000-8000-000000000001', 'local-hostname': 'web-01' },
  userData: '#cloud-config\nruncmd:\n  - xenstore-write vm-data/ready 1\n',
  networkConfig: { version: 2, ethernets: { eth0: { addresses: ['192.168.50.10/24'] } } },
}

async function write(c: DriveContent): Promise<{ file: string; size: number }> {
  const d = buildDrive(c)
  const file = join(dir, `${c.datasource}.img`)
  await writeExtentsFile(file, d.size, d.extents)
  return { file, size: d.size }
}

const run = (tool: 'fsck.fat' | 'mdir' | 'mtype', ...args: string[]): string => execFileSync(findOracle(tool)!, args, { encoding: 'utf8', maxBuffer: 64 << 20 })

tools.describe('the config drive, read by dosfstools and mtools', () => {
  tools.it('NoCloud: a clean FAT12 volume of 1 MiB labelled cidata holding meta-data, user-data and network-config', async () => {
    const { file, size } = await write(CONTENT)
    expect(size).toBe(1024 * 1024)
    expect(run('fsck.fat', '-n', file)).toMatch(/\d+ files, \d+\/\d+ clusters/)
    const listing = run('mdir', '-i', file, '::/')
    expect(listing).toMatch(/Volume in drive : is cidata/)
    for (const name of ['meta-data', 'user-data', 'network-config']) expect(listing).toContain(name)
    expect(run('mtype', '-i', file, '::/user-data')).toBe(CONTENT.userData)
    expect(run('mtype', '-i', file, '::/meta-data')).toBe('instance-id: 3f1c2a9e-0000-4000-8000-000000000001\nlocal-hostname: web-01\n')
    expect(run('mtype', '-i', file, '::/network-config')).toMatch(/addresses:\n\s+- 192.168.50.10\/24/)
  })

  tools.it('ConfigDrive v2: labelled config-2, openstack/latest/meta_data.json names the instance', async () => {
    const { file } = await write({ ...CONTENT, datasource: 'configdrive', networkConfig: undefined })
    expect(run('fsck.fat', '-n', file)).toMatch(/files/)
    expect(run('mdir', '-i', file, '::/')).toMatch(/Volume in drive : is config-2/)
    const meta = JSON.parse(run('mtype', '-i', file, '::/openstack/latest/meta_data.json')) as Record<string, string>
    expect(meta).toEqual({ uuid: '3f1c2a9e-0000-4000-8000-000000000001', hostname: 'web-01', name: 'web-01' })
    expect(run('mtype', '-i', file, '::/openstack/latest/user_data')).toBe(CONTENT.userData)
  })

  tools.it('grows by the MiB for large user data and stays FAT12', async () => {
    const big = `#cloud-config\nwrite_files:\n  - path: /x\n    content: "${'a'.repeat(3 * 1024 * 1024)}"\n`
    const { file, size } = await write({ ...CONTENT, userData: big })
    expect(size).toBeGreaterThan(3 * 1024 * 1024)
    expect(size).toBeLessThanOrEqual(5 * 1024 * 1024)
    expect(run('fsck.fat', '-n', file)).toMatch(/files/)
    expect(run('mtype', '-i', file, '::/user-data').length).toBe(big.length)
  })
})

/**
 * Debian's cloud-init as the user-data and NoCloud oracle, blkid (util-linux) as the label
 * oracle: the drive's files are copied out with mcopy (no mount needed, no root) and read
 * by cloud-init's own seed reader, with the interpreter cloud-init's launcher names (its
 * Python modules live in the system's dist-packages, not in a pyenv's).
 */
const cloudInit = needs('cloud-init', 'blkid', 'mcopy')

function cloudInitPython(): string {
  const shebang = readFileSync(findOracle('cloud-init')!, 'utf8').split('\n', 1)[0]!
  return /^#!\s*(\S+)/.exec(shebang)?.[1] ?? 'python3'
}

const blkid = (file: string): Record<string, string> =>
  Object.fromEntries(
    execFileSync(findOracle('blkid')!, ['-p', '-o', 'export', file], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  )

cloudInit.describe('the config drive, judged by cloud-init and blkid', () => {
  cloudInit.it('NoCloud: blkid reads vfat labelled cidata; cloud-init validates the user data and reads the seed as written', async () => {
    const { file } = await write(CONTENT)
    expect(blkid(file)).toMatchObject({ TYPE: 'vfat', LABEL: 'cidata' })
    const seed = join(dir, 'seed')
    mkdirSync(seed, { recursive: true })
    execFileSync(findOracle('mcopy')!, ['-i', file, '-s', '::/meta-data', '::/user-data', '::/network-config', `${seed}/`], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, encoding: 'utf8' })
    const schema = execFileSync(findOracle('cloud-init')!, ['schema', '--config-file', join(seed, 'user-data')], { encoding: 'utf8' })
    expect(schema).toContain('Valid cloud-config')
    // cloud-init's NoCloud seed reader (util.read_seeded) and its YAML loader for network-config.
    const py = `import json, sys
from cloudinit import util
md, ud, vd = util.read_seeded(base='file://' + sys.argv[1] + '/')
net = util.load_yaml(util.load_file(sys.argv[1] + '/network-config'))
print(json.dumps({'md': md, 'ud': ud.decode(), 'net': net}))`
    const read = JSON.parse(execFileSync(cloudInitPython(), ['-c', py, seed], { encoding: 'utf8' })) as { md: unknown; ud: string; net: unknown }
    expect(read).toEqual({ md: CONTENT.metaData, ud: CONTENT.userData, net: CONTENT.networkConfig })
  })

  cloudInit.it('ConfigDrive v2: blkid reads vfat labelled config-2', async () => {
    const { file } = await write({ ...CONTENT, datasource: 'configdrive', networkConfig: undefined })
    expect(blkid(file)).toMatchObject({ TYPE: 'vfat', LABEL: 'config-2' })
  })

  cloudInit.it('the schema oracle can fail: a cloud-config whose runcmd is not a list is refused', async () => {
    const bad = join(dir, 'bad-user-data')
    writeFileSync(bad, '#cloud-config\nruncmd: 5\n')
    expect(() => execFileSync(findOracle('cloud-init')!, ['schema', '--config-file', bad], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/runcmd: 5 is not of type 'array'/)
  })
})
