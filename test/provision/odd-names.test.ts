import { describe, expect, it } from 'vitest'
import { withSimulator } from '../support/simulator.js'
import type { UserError } from '../../src/errors.js'
import type { ProvisionEvent } from '../../src/provision/types.js'
import { markOf } from '../../src/provision/marks.js'
import { inventory, runProvision, syntheticImage, warnings } from './support.js'

/**
 * XML-RPC drops most control characters from what XAPI sends back, so a VM name that
 * holds one does not read back as it was written. Resume and leftover clean-up find
 * their objects by the VDI's mark, which must match whatever the name holds.
 */
const NAMES = ['ctl\u0001x', 'esc\u001b[31mred', 'tab\there', 'cr\rlf\n', '"quoted"', 'lone\ud800', 'plain name']

describe('VM names with characters that do not survive the wire', () => {
  it('markOf keeps plain names as they are and gives every other name its own ASCII mark', () => {
    expect(markOf('plain name')).toBe('plain name')
    expect(markOf('web-01 é')).toBe('web-01 é')
    const marks = NAMES.map(markOf)
    expect(new Set(marks).size).toBe(NAMES.length)
    for (const m of marks) expect(m).toMatch(/^[\u0020-\u007e\u00a0-\ufffd]*$/)
    // A plain name spelt like an escaped one cannot collide with it: escaped marks start with a quote, plain ones never do.
    expect(markOf(JSON.stringify('ctl\u0001x'))).not.toBe(markOf('ctl\u0001x'))
  })

  for (const name of NAMES) {
    it(`${JSON.stringify(name)}: a failed upload is resumed and a kept VM is cleaned up by the next run`, async () => {
      const sim = await withSimulator()
      const img = await syntheticImage(1)
      const before = inventory(sim)
      sim.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3, times: 0 })
      const err = (await runProvision(sim, img, { name }).catch((e: unknown) => e)) as UserError
      expect(err.info.kept?.[0]).toMatch(/holds the image's first \d+ bytes/)
      sim.faults.clear()
      // Fails at its last step and keeps what it made: the VM under its temporary name, and the VDI.
      sim.faults.add({ method: 'VM.set_name_label', error: ['INTERNAL_ERROR', 'injected'] })
      const events1: ProvisionEvent[] = []
      const kept = (await runProvision(sim, img, { name, keepOnFailure: true, events: events1 }).catch((e: unknown) => e)) as UserError
      expect(events1.some((e) => e.type === 'upload-resume')).toBe(true)
      expect(kept.info.kept?.map((k) => k.split(' ')[0]).sort()).toEqual(['VBD', 'VDI', 'VIF', 'VM'])
      sim.faults.clear()
      const events: ProvisionEvent[] = []
      const r = await runProvision(sim, img, { name, events })
      expect(warnings(events).find((w) => w.startsWith('removed what an interrupted earlier run left'))).toMatch(/VM [-0-9a-f]+; VDI /)
      const after = inventory(sim)
      expect(after.vms).toEqual([r.vm.ref])
      expect(after.vdis.length - before.vdis.length).toBe(1)
      expect(after.vbds).toBe(1)
      expect(after.vifs).toBe(1)
      expect(after.pending).toEqual([])
    })
  }
})
