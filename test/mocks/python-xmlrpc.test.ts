import { expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { withSimulator } from '../support/simulator.js'
import { needs } from '../support/oracles.js'

const run = promisify(execFile)

/**
 * Python's xmlrpc.client parses responses with expat and refuses anything malformed,
 * so driving the simulator from it checks our XML against an independent parser.
 */
const SCRIPT = `
import json, sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
login = s.session.login_with_password('root', 'simulator', '1.0', 'python-test')
session = login['Value']
srs = s.SR.get_by_name_label(session, 'Local storage')
sr = srs['Value'][0]
rec = s.SR.get_record(session, sr)['Value']
bad = s.VM.get_record(session, 'OpaqueRef:nope')
listed = s.system.listMethods()
# Whole records exercise every wire type: <double>, <dateTime.iso8601>, <boolean>, nested structs.
vms = s.VM.get_all_records(session)['Value']
mult = [v['HVM_shadow_multiplier'] for v in vms.values()]
when = [v['snapshot_time'].value for v in vms.values()]
s.session.logout(session)
gone = s.VM.get_all(session)
print(json.dumps({
  'login': login['Status'], 'srs': srs, 'size': rec['physical_size'], 'shared': rec['shared'],
  'bad': bad, 'methods': len(listed), 'gone': gone, 'mult': mult, 'when': when,
}))
`

needs('python3').describe('Python xmlrpc.client against the simulator', () => {
  it('logs in, looks an SR up, and reads HANDLE_INVALID and SESSION_INVALID', async () => {
    const sim = await withSimulator()
    const { stdout } = await run('python3', ['-c', SCRIPT, sim.url], { timeout: 20_000 })
    const out = JSON.parse(stdout) as Record<string, unknown>
    expect(out.login).toBe('Success')
    expect(out.srs).toEqual({ Status: 'Success', Value: [sim.inventory.localSr] })
    // int64 arrive as strings of digits, bools as real booleans: XAPI's encoding.
    expect(out.size).toBe(String(500 * 1024 ** 3))
    expect(out.shared).toBe(false)
    expect(out.bad).toEqual({ Status: 'Failure', ErrorDescription: ['HANDLE_INVALID', 'VM', 'OpaqueRef:nope'] })
    expect(out.methods).toBeGreaterThan(100)
    // One entry per VM record (dom0 and the profile's templates): the count is the profile's.
    const vms = Object.keys(sim.objects().VM ?? {}).length
    expect(out.mult).toEqual(Array(vms).fill(1))
    expect(out.when).toEqual(Array(vms).fill('19700101T00:00:00Z'))
    expect(out.gone).toMatchObject({ Status: 'Failure', ErrorDescription: ['SESSION_INVALID', expect.stringMatching(/^OpaqueRef:/)] })
  })
})
