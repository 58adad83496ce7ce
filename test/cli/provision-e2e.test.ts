import { expect, it, beforeAll, afterAll } from 'vitest'
import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnSimulator, type SpawnedSimulator } from '../support/cli.js'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'
import { writeSampleImage } from '../../src/image/write-image.js'
import { deriveMac } from '../../src/select/mac.js'
import { ProvisionResult } from '../../src/provision/types.js'
import { needs } from '../support/oracles.js'
import { SMALL_KERNEL, SMALL_PV } from '../support/sample-images.js'

const run = promisify(execFile)
const CREDS = { XAPI_USER: 'root', XAPI_PASSWORD: 'e2e-password' }
const MiB = 1024 * 1024

/**
 * Reads the whole VDI through GET /export_raw_vdi: sha256 of the first `n` bytes, the
 * size, and whether the rest is zero. Python reads it into one reused buffer and
 * compares whole 8 MiB chunks with a zero buffer (memcmp): 11 GiB cost ~2 s of CPU
 * that way, against ~12 s with read() and bytes.count and ~25 s through Node's HTTP
 * client (docs/testing.md "Time").
 */
async function exportVdi(url: string, session: string, vdi: string, n: number): Promise<{ sha256: string; size: number; restIsZero: boolean }> {
  const target = new URL('export_raw_vdi', url)
  target.search = new URLSearchParams({ session_id: session, vdi, format: 'raw' }).toString()
  const py = [
    'import sys, hashlib, urllib.request',
    'r = urllib.request.urlopen(sys.argv[1]); n = int(sys.argv[2])',
    'CH = 8 << 20; ZERO = bytes(CH); buf = bytearray(CH); mv = memoryview(buf)',
    'h = hashlib.sha256(); size = 0; rest_zero = True',
    'while True:',
    '    got = r.readinto(buf)',
    '    if not got: break',
    '    head = max(0, min(got, n - size))',
    '    if head: h.update(mv[:head])',
    '    if head < got:',
    '        if got == CH and head == 0: rest_zero = rest_zero and buf == ZERO',
    '        elif mv[head:got].tobytes().count(0) != got - head: rest_zero = False',
    '    size += got',
    'print(h.hexdigest(), size, int(rest_zero))',
  ].join('\n')
  const { stdout } = await run('python3', ['-c', py, target.href, String(n)])
  const [sha256 = '', size = '0', zero = '0'] = stdout.trim().split(' ')
  return { sha256, size: Number(size), restIsZero: zero === '1' }
}

// python3 reads the 11 GiB export back (far cheaper than Node's HTTP client).
needs('python3').describe('provision freebsd-9 end to end (spawned CLI against a spawned simulator)', () => {
  let sim: SpawnedSimulator
  let x: XapiConnection
  let image: string

  beforeAll(async () => {
    sim = await spawnSimulator(CREDS)
    x = await connect({ url: sim.url, user: CREDS.XAPI_USER, password: CREDS.XAPI_PASSWORD })
    image = join(await mkdtemp(join(tmpdir(), 'e2e-')), 'freebsd.img')
    // The small kernel and disk (test/support/sample-images.ts): the kernel is only carried
    // and hashed back here; the sample's 3 MiB of pseudo-random bytes cost CPU to make and send.
    await writeSampleImage(image, { diskSize: SMALL_PV, kernelSize: SMALL_KERNEL })
  })
  afterAll(async () => {
    await x?.close()
    expect(await sim?.stop()).toBe(0)
  })

  it('creates and starts the VM with every field the HOWTO sets', async () => {
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--json'], CREDS)
    expect(r.stderr).not.toContain(CREDS.XAPI_PASSWORD)
    expect(r.stdout).not.toContain(CREDS.XAPI_PASSWORD)
    expect(r.code, r.stderr).toBe(0)
    const out = ProvisionResult.parse(JSON.parse(r.stdout))
    expect(out.vm.name).toBe('FreeBSD-9.0')
    expect(out.mac).toBe(deriveMac('FreeBSD-9.0'))

    const vm = await x.call<Record<string, unknown>>('VM.get_record', out.vm.ref)
    expect(vm).toMatchObject({
      uuid: out.vm.uuid,
      name_label: 'FreeBSD-9.0',
      name_description: 'New FreeBSD host',
      power_state: 'Running',
      is_a_template: false,
      PV_bootloader: 'pygrub',
      PV_bootloader_args: '--kernel=/boot/kernel/kernel',
      PV_args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a',
      HVM_boot_policy: '',
      HVM_boot_params: {},
      domain_type: 'pv',
      memory_static_min: String(128 * MiB),
      memory_static_max: String(256 * MiB),
      memory_dynamic_min: String(256 * MiB),
      memory_dynamic_max: String(256 * MiB),
      VCPUs_max: '1',
      VCPUs_at_startup: '1',
    })
    expect((vm.other_config as Record<string, string>).disable_pv_vnc).toBe('1')

    const [vifRef] = vm.VIFs as string[]
    const vif = await x.call<Record<string, unknown>>('VIF.get_record', vifRef)
    const [net] = await x.call<string[]>('network.get_all').then(async (refs) => {
      const recs = await Promise.all(refs.map(async (n) => [n, await x.call<string>('network.get_bridge', n)] as const))
      return recs.filter(([, b]) => b === 'xenbr0').map(([n]) => n)
    })
    expect(vif).toMatchObject({ MAC: out.mac, network: net, device: '0', currently_attached: true })

    const [vbdRef] = vm.VBDs as string[]
    const vbd = await x.call<Record<string, unknown>>('VBD.get_record', vbdRef)
    expect(vbd).toMatchObject({ userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', VDI: out.vdi.ref })

    const vdi = await x.call<Record<string, unknown>>('VDI.get_record', out.vdi.ref)
    expect(vdi).toMatchObject({ virtual_size: String(11 * 1024 * MiB), type: 'system', name_label: 'FreeBSD-9.0-vdi' })

    const img = await readFile(image)
    const exported = await exportVdi(sim.url, x.sessionId, out.vdi.ref, img.length)
    expect(exported.size).toBe(11 * 1024 * MiB)
    expect(exported.sha256).toBe(createHash('sha256').update(img).digest('hex'))
    expect(exported.restIsZero).toBe(true)
    // Only data goes on the wire: far less than the image.
    expect(out.upload.bytes_sent).toBeLessThan(img.length / 4)
  })

  it('run again with the same recipe: the VM it made is found, nothing to do, exit 0, nothing changed', async () => {
    const before = await x.call<string[]>('VDI.get_all')
    const vms = await x.call<string[]>('VM.get_all')
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image], CREDS)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('already exists with these settings; nothing to do')
    expect(await x.call<string[]>('VDI.get_all')).toEqual(before)
    expect(await x.call<string[]>('VM.get_all')).toEqual(vms)
  })

  it('prints the plan on --dry-run and creates nothing', async () => {
    const before = await x.call<string[]>('VM.get_all')
    const r = await runCli(['freebsd-9', '--host', sim.url, '--image', image, '--name', 'dry', '--dry-run', '--json'], CREDS)
    expect(r.code, r.stderr).toBe(0)
    const plan = JSON.parse(r.stdout) as { dry_run: boolean; calls: { step: string; call: string }[] }
    expect(plan.dry_run).toBe(true)
    expect(plan.calls.map((c) => c.step)).toEqual(expect.arrayContaining(['vdi.create', 'upload', 'vm.install', 'vm.pv', 'vif.create', 'vbd.create', 'vm.start']))
    expect(await x.call<string[]>('VM.get_all')).toEqual(before)
  })
})
