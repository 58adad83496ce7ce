import { describe, expect, it } from 'vitest'
import { parseBootloaderArgs } from '../../src/image/bootloader-args.js'
import { extentsReadAt } from '../../src/image/extents.js'
import { buildSampleImage } from '../../src/image/sample-image.js'
import { withOffset } from '../../src/preflight/offset-fix.js'
import { preflight } from '../../src/preflight/preflight.js'

const MiB = 1024 * 1024

describe('withOffset', () => {
  it('appends --offset and drops any earlier one, in every spelling getopt accepts', () => {
    expect(withOffset('--kernel=/boot/kernel/kernel', 40448)).toBe('--kernel=/boot/kernel/kernel --offset=40448')
    expect(withOffset('', 512)).toBe('--offset=512')
    expect(withOffset('--offset=32256 --kernel=/k', 40448)).toBe('--kernel=/k --offset=40448')
    expect(withOffset('--offset 32256 --kernel=/k', 40448)).toBe('--kernel=/k --offset=40448')
    expect(withOffset('--off=1 --kernel=/k --output=x', 7)).toBe('--kernel=/k --output=x --offset=7')
  })

  it('yields arguments pygrub parses to that offset', () => {
    const r = parseBootloaderArgs(withOffset('--kernel=/boot/kernel/kernel --offs 9', 40448))
    expect(r.ok && r.value).toMatchObject({ kernel: '/boot/kernel/kernel', offset: 40448 })
  })
})

describe('the offset fix is proposed only when placement is the only problem', () => {
  const a16 = buildSampleImage({ diskSize: 8 * MiB, partitionOffsetSectors: 16 })
  const read = extentsReadAt(a16.extents)
  const pv = (bootloader_args: string): { bootloader_args: string; args: string } => ({ bootloader_args, args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' })

  it('replaces a wrong --offset by the start of partition a', () => {
    const r = preflight(read, 8 * MiB, pv('--kernel=/boot/kernel/kernel --offset=32256'))
    expect(r.verdicts.upstream.problems.map((p) => p.code)).toEqual(['wrong-offset'])
    expect(r.offset_fix?.bootloader_args).toBe(`--kernel=/boot/kernel/kernel --offset=${a16.layout.partitionOffset}`)
  })

  it('is not proposed when the kernel path is wrong too', () => {
    const r = preflight(read, 8 * MiB, pv('--kernel=/boot/kernel/nothere'))
    expect(r.offset_fix).toBeNull()
  })

  it('is not proposed without --kernel (pygrub would look for a GRUB config)', () => {
    const r = preflight(read, 8 * MiB, pv(''))
    expect(r.verdicts.upstream.problems.map((p) => p.code)).toContain('no-kernel-arg')
    expect(r.offset_fix).toBeNull()
  })

  it('reports arguments pygrub rejects', () => {
    const r = preflight(read, 8 * MiB, pv('--kernel=/boot/kernel/kernel --bogus'))
    expect(r.verdicts.upstream.pygrub.message).toBe('option --bogus not recognized')
    expect(r.verdicts.upstream.problems.map((p) => p.code)).toEqual(['bootloader-args'])
  })
})
