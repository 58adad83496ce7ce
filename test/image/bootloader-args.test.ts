import { describe, expect, it } from 'vitest'
import { parseBootloaderArgs } from '../../src/image/bootloader-args.js'

describe('PV_bootloader_args parsing (pygrub getopt)', () => {
  it('reads --kernel and --offset in both forms', () => {
    expect(parseBootloaderArgs('--kernel=/boot/kernel/kernel --offset=40448')).toEqual({
      ok: true,
      value: { kernel: '/boot/kernel/kernel', offset: 40448, quiet: false, notReally: false, listEntries: false, positional: [] },
    })
    const r = parseBootloaderArgs(['--kernel', '/boot/kernel/kernel', '-q', 'disk.img'])
    expect(r.ok && r.value).toMatchObject({ kernel: '/boot/kernel/kernel', quiet: true, positional: ['disk.img'] })
  })

  it('splits on single spaces as XAPI does and accepts unique prefixes like getopt', () => {
    const r = parseBootloaderArgs('  --kern=/k   --off=+1_024 ')
    expect(r.ok && r.value).toMatchObject({ kernel: '/k', offset: 1024 })
    expect(parseBootloaderArgs('--o=1')).toEqual({ ok: false, message: 'option --o not a unique prefix' })
  })

  it('keeps arguments that pass through', () => {
    const r = parseBootloaderArgs(['--args=console=xc0 boot_verbose', '--ramdisk=/boot/mfsroot', '--entry=1', '-nl'])
    expect(r.ok && r.value).toMatchObject({ args: 'console=xc0 boot_verbose', ramdisk: '/boot/mfsroot', entry: '1', quiet: true, notReally: true, listEntries: true })
  })

  it('fails with getopt and pygrub messages', () => {
    expect(parseBootloaderArgs('--default_args=x')).toEqual({ ok: false, message: 'option --default_args not recognized' })
    expect(parseBootloaderArgs('--offset=abc')).toEqual({ ok: false, message: 'offset value must be an integer' })
    expect(parseBootloaderArgs('--kernel')).toEqual({ ok: false, message: 'option --kernel requires argument' })
    expect(parseBootloaderArgs('--quiet=1')).toEqual({ ok: false, message: 'option --quiet must not have an argument' })
    expect(parseBootloaderArgs('-x')).toEqual({ ok: false, message: 'option -x not recognized' })
    expect(parseBootloaderArgs('--output-format=xml')).toEqual({ ok: false, message: 'unknown output format xml' })
  })

  it("accepts XAPI's extra options with XCP-ng's patch", () => {
    const r = parseBootloaderArgs(['-q', '--default_args=', '--extra_args=', '--vm=1234', '--kernel=/boot/kernel/kernel'], 'xcp-ng')
    expect(r.ok && r.value.kernel).toBe('/boot/kernel/kernel')
  })

  it('stops at --', () => {
    const r = parseBootloaderArgs(['--', '--kernel=/x'])
    expect(r.ok && r.value).toMatchObject({ positional: ['--kernel=/x'] })
    expect(r.ok && r.value.kernel).toBeUndefined()
  })
})
