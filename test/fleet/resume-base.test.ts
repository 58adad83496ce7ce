import { describe, expect, it } from 'vitest'
import { rollout } from '../../src/fleet/rollout.js'
import { fleetOn, hosts, ENV } from './support.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'

const SEGMENT = 128 * 1024
const ONCE = { segmentBytes: SEGMENT, retry: { retries: 0 } }

describe('a base upload that fails after a checkpoint', () => {
  it('is kept for the next rollout, which resumes it instead of uploading it all again', async () => {
    const [sim] = await hosts(1)
    const fleet = await fleetOn([sim!], 'web-{1..2}')
    // The third segment's PUT (empty probes do not count) is cut; no retries.
    sim!.faults.add({ upload: 'cut', afterBytes: 1000, nth: 3 })
    const first = await rollout({ fleet, env: ENV, upload: ONCE })
    expect(first.vms.map((v) => v.state)).toEqual(['failed', 'failed'])
    const [base] = first.bases
    expect(base!.state).toBe('failed')
    expect(base!.error!.kept).toEqual([expect.stringMatching(/holds the image's first \d+ bytes/)])
    expect(base!.error!.fix).toContain('the next rollout resumes the upload')
    const marked = Object.values(sim!.objects().VDI!).filter((v) => (v.other_config as Record<string, string>)['xcp-provision:base-upload'])
    expect(marked).toHaveLength(1)

    const again = await rollout({ fleet, env: ENV, upload: { segmentBytes: SEGMENT } })
    expect(again.vms.map((v) => v.state)).toEqual(['created', 'created'])
    expect(again.bases.map((b) => [b.action, b.vdi_uuid])).toEqual([['resume', marked[0]!.uuid]])
    // Two segments of data were in the VDI already: the second run sent the rest only.
    const { dataBytes } = await scanDataRegions(fleet.groups[0]!.image!)
    expect(again.bases[0]!.bytes_sent).toBeGreaterThan(0)
    expect(again.bases[0]!.bytes_sent).toBeLessThan(dataBytes - 2 * SEGMENT + 64 * 1024)
  })
})
