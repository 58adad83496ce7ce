import { createHash } from 'node:crypto'
import { afterAll, expect } from 'vitest'
import { convert } from '../../src/convert/run.js'
import { KEY } from '../../src/convert/marks.js'
import * as VM from '../../src/xapi/vm.js'
import { connectTo, withSimulator } from '../support/simulator.js'
import { needs } from '../support/oracles.js'
import { tempDir } from '../image/helpers/tools.js'
import { stubBoot, stubBoot0 } from './helpers/guests.js'
import { fixInsideGuest, opts, pvGuest } from './helpers/sim-guest.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

needs('makefs', 'sfdisk').describe('provision convert on the simulator', () => {
  const tmp = tempDir('convert-e2e-')
  afterAll(() => tmp.cleanup())

  needs('makefs', 'sfdisk').it(
    'refuses the sample as built and changes nothing; after the fixes inside the guest it converts, boots under the HVM BIOS, converges on a re-run, and --undo restores disk and settings',
    async () => {
      const sim = await withSimulator()
      const { vm, vdi } = await pvGuest(sim, tmp.dir)
      const vdisBefore = Object.keys(sim.objects().VDI ?? {}).length

      const refused = await convert(opts(sim, { installBootcode: true }))
      expect(refused.action).toBe('refused')
      if (refused.action !== 'refused') return
      expect(refused.blockers.map((b) => b.id)).toEqual(['mbr-boot-code', 'slice-boot', 'loader', 'kernel', 'fstab'])
      expect(refused.report.read.bytes).toBeLessThan(16 * 1024 * 1024)
      expect(Object.keys(sim.objects().VDI ?? {}).length).toBe(vdisBefore)
      expect(Object.keys(sim.objects().VM![vm]!.other_config as object).filter((k) => k.startsWith('xcp-provision:convert'))).toEqual([])

      const fixed = fixInsideGuest(sim, vdi, tmp.dir)
      const before = sim.readVdi(vdi, 0, fixed.length)
      const withoutFlag = await convert(opts(sim))
      expect(withoutFlag.action).toBe('refused')

      const done = await convert(opts(sim, { installBootcode: true }))
      expect(done.action, JSON.stringify(done)).toBe('converted')
      const after = sim.readVdi(vdi, 0, fixed.length)
      expect(after.subarray(0, 446).equals(stubBoot0().subarray(0, 446))).toBe(true)
      expect(after.subarray(446, 512).equals(before.subarray(446, 512))).toBe(true)
      const slice = 63 * 512
      expect(after.subarray(slice, slice + 512).equals(stubBoot().subarray(0, 512))).toBe(true)
      expect(after.subarray(slice + 512, slice + 1024).equals(before.subarray(slice + 512, slice + 1024))).toBe(true)
      expect(after.subarray(slice + 8192).equals(before.subarray(slice + 8192))).toBe(true)
      const rec = sim.objects().VM![vm]!
      expect([rec.domain_type, rec.HVM_boot_policy, rec.HVM_boot_params, rec.PV_bootloader, rec.PV_args]).toEqual(['hvm', 'BIOS order', { firmware: 'bios', order: 'c' }, '', ''])
      const snaps = Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)
      expect(snaps.map((s) => [s.snapshot_of, s.read_only, s.uuid])).toEqual([[vdi, true, (rec.other_config as Record<string, string>)[KEY.snapshot]]])

      const x = await connectTo(sim)
      await VM.start(x, vm)
      const boot = sim.console(vm).at(-1)!
      expect(boot.booted, boot.reason ?? '').toBe(true)
      expect(boot.chain.join(' → ')).toContain('/boot/loader')
      await VM.hard_shutdown(x, vm)

      const again = await convert(opts(sim, { installBootcode: true }))
      expect(again.action).toBe('converted')
      if (again.action === 'converted') expect(again.bootcode_bytes).toBe(0)
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(1)

      const undone = await convert(opts(sim, { undo: true }))
      expect(undone.action).toBe('undone')
      expect(sha(sim.readVdi(vdi, 0, fixed.length))).toBe(sha(before))
      const back = sim.objects().VM![vm]!
      expect([back.domain_type, back.HVM_boot_policy, back.PV_bootloader]).toEqual(['pv', '', 'pygrub'])
      expect(String(back.PV_args)).toContain('vfs.root.mountfrom')
      expect(Object.keys(back.other_config as object).filter((k) => k.startsWith('xcp-provision:convert'))).toEqual([])
      expect(Object.values(sim.objects().VDI ?? {}).filter((v) => v.is_a_snapshot)).toHaveLength(0)
      // PV again: pygrub loads the guest's (now i386 GENERIC) kernel and XCP-ng 8.2's Xen refuses a 32-bit PV domain, as since 2022.
      await expect(VM.start(x, vm)).rejects.toThrow(/xen-3.0-x86_32p not supported/)
    },
  )
})
