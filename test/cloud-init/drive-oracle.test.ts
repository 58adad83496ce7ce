import { execFileSync } from 'node:child_process'
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
