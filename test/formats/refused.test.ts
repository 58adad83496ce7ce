import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { inspectImage } from '../../src/disk/inspect.js'
import { UserError } from '../../src/errors.js'
import { runCli } from '../support/cli.js'
import { needs } from '../support/oracles.js'
import { withSimulator } from '../support/simulator.js'
import { MiB, pattern } from '../upload/helpers.js'

/**
 * Files that hold a disk but are not one, as clouds publish them (Debian's .tar.xz with
 * disk.raw, an OVA, Azure's .vhd.zip) and formats read elsewhere (VirtualBox VDI, a VMDK
 * descriptor): each refused by content, plain or inside xz or gzip, with an error naming
 * the file the user gave and the way out (a pax archive's first header is an extended one,
 * so no member is named). Read as raw, an archive's headers would have
 * become the VM's first sectors. Built by the real tools (tar, python3's zipfile,
 * qemu-img, xz, gzip).
 */
const oracle = needs('xz', 'qemu-img', 'python3')

let dir: string
const rows: { name: string; file: string; why: RegExp; fix: RegExp }[] = []
beforeAll(() => {
  // Made once for the file (tempDir's directories go after each test).
  dir = mkdtempSync(join(tmpdir(), 'refused-'))
  const at = (f: string): string => join(dir, f)
  writeFileSync(at('disk.raw'), pattern(2 * MiB, 1))
  execFileSync('tar', ['-cf', 'debian-12-genericcloud-amd64.tar', 'disk.raw'], { cwd: dir })
  execFileSync('tar', ['--format=pax', '-cf', 'pax.tar', 'disk.raw'], { cwd: dir })
  writeFileSync(at('appliance.ovf'), '<?xml version="1.0"?><Envelope/>\n')
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', 'disk.raw', 'appliance-disk1.vmdk'], { cwd: dir })
  execFileSync('tar', ['-cf', 'appliance.ova', 'appliance.ovf', 'appliance-disk1.vmdk'], { cwd: dir })
  execFileSync('python3', ['-m', 'zipfile', '-c', 'azure.vhd.zip', 'disk.raw'], { cwd: dir })
  execFileSync('qemu-img', ['create', '-q', '-f', 'vdi', 'vbox.vdi', '8M'], { cwd: dir })
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'flat.vmdk', '8M'], { cwd: dir })
  const plain = [
    { name: 'a tar (Debian cloud image)', file: 'debian-12-genericcloud-amd64.tar', why: /tar archive \(first member disk\.raw, 2097152 bytes\)/, fix: /tar -xf/ },
    { name: 'a pax tar (its first header an extended one: no member named)', file: 'pax.tar', why: /this is a tar archive, not a disk image/, fix: /tar -xf/ },
    { name: 'an OVA', file: 'appliance.ova', why: /tar archive \(first member appliance\.ovf, \d+ bytes\)/, fix: /\.vmdk/ },
    { name: 'a zip (Azure .vhd.zip)', file: 'azure.vhd.zip', why: /zip archive/, fix: /unzip/ },
    { name: 'a VirtualBox VDI', file: 'vbox.vdi', why: /VirtualBox VDI/, fix: /qemu-img convert/ },
    { name: 'a VMDK descriptor', file: 'flat.vmdk', why: /VMDK descriptor/, fix: /-flat\.vmdk/ },
  ]
  for (const r of plain) {
    rows.push({ ...r, file: at(r.file) })
    execFileSync('xz', ['-k', '-1', r.file], { cwd: dir })
    rows.push({ ...r, name: `${r.name} in xz`, file: at(`${r.file}.xz`), why: new RegExp(`once decompressed, .*${r.why.source}`) })
    execFileSync('gzip', ['-k', r.file], { cwd: dir })
    rows.push({ ...r, name: `${r.name} in gzip`, file: at(`${r.file}.gz`), why: new RegExp(`once decompressed, .*${r.why.source}`) })
  }
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let tmp: string
let saved: string | undefined
beforeEach(() => {
  // The spools go here, so the test sees that a refused image leaves none behind.
  tmp = join(dir, `tmp-${Math.random().toString(36).slice(2)}`)
  mkdirSync(tmp)
  saved = process.env.TMPDIR
  process.env.TMPDIR = tmp
})
afterEach(() => {
  if (saved === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = saved
})

oracle.describe('archives and foreign disks are refused by content, with the way out', () => {
  oracle.it('every row, plain or compressed: image-unreadable naming the file given (never its spool), the why and the fix; no spool left', async () => {
    expect(rows).toHaveLength(18)
    for (const r of rows) {
      const e = await inspectImage(r.file).then(
        () => undefined,
        (x: unknown) => x,
      )
      expect(e, r.name).toBeInstanceOf(UserError)
      const u = e as UserError
      expect(u.code, r.name).toBe('image-unreadable')
      expect(u.message, r.name).toContain(basename(r.file))
      expect(u.message, r.name).not.toMatch(/\.spool/)
      expect(u.message, r.name).toMatch(r.why)
      expect(u.info.fix, r.name).toMatch(r.fix)
      expect(readdirSync(tmp), r.name).toEqual([])
    }
  })

  oracle.it('provision --skip-preflight with a .tar.xz: exit 2 before any XAPI write, nothing made on the host', async () => {
    const sim = await withSimulator({ profile: 'xcp-ng-8.3' })
    const vdis = sim.state.disks.size
    const image = join(dir, 'debian-12-genericcloud-amd64.tar.xz')
    const r = await runCli(['freebsd-14', '--host', sim.url, '--image', image, '--skip-preflight', '--json'], {
      XAPI_USER: sim.credentials.user,
      XAPI_PASSWORD: sim.credentials.password,
      TMPDIR: tmp,
    })
    expect(r.code, r.stderr).toBe(2)
    const out = JSON.parse(r.stdout) as { error: { code: string; why: string; fix: string } }
    expect(out.error.code).toBe('image-unreadable')
    expect(out.error.fix).toMatch(/tar -xf/)
    expect(out.error.why).toMatch(/debian-12-genericcloud-amd64\.tar\.xz: at byte 0: once decompressed, this is a tar archive \(first member disk\.raw/)
    expect(sim.state.disks.size).toBe(vdis)
    expect(readdirSync(tmp)).toEqual([])
  })
})
