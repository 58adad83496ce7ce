import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { connect, type XapiConnection } from '../../src/xapi/connection.js'

export const BIN = fileURLToPath(new URL('../../../bin/provision.js', import.meta.url))
export const CREDS = { XAPI_USER: 'root', XAPI_PASSWORD: 'bench-password' }

/** One `provision sim` process: the endpoint every figure of the bench is measured on. */
export interface SimProcess {
  url: string
  x: XapiConnection
  /** POST /_sim/faults (rule JSON), or DELETE with undefined. */
  faults(rule?: unknown): Promise<void>
  /** A VDI to curl into, as xe vdi-import would target. */
  newVdi(size: number): Promise<string>
  /** Destroys every VM and VDI made since start, so the simulator's memory stays bounded. */
  cleanup(): Promise<void>
  stop(): Promise<void>
}

export async function startSim(): Promise<SimProcess> {
  // XCP-ng 8.2: the bench's recipe is PV, which the default (newest) release refuses.
  const child = spawn(process.execPath, [BIN, 'sim', '--port', '0', '--profile', 'xcp-ng-8.2'], { env: { PATH: process.env.PATH ?? '', ...CREDS }, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await firstLine(child)
  const x = await connect({ url, user: CREDS.XAPI_USER, password: CREDS.XAPI_PASSWORD })
  const baseVms = new Set(await x.call<string[]>('VM.get_all'))
  const baseVdis = new Set(await x.call<string[]>('VDI.get_all'))
  const [sr] = await x.call<string[]>('SR.get_by_name_label', 'Local storage')
  return {
    url,
    x,
    async faults(rule) {
      // The control API takes the simulator's XAPI credentials as HTTP Basic.
      const authorization = `Basic ${Buffer.from(`${CREDS.XAPI_USER}:${CREDS.XAPI_PASSWORD}`).toString('base64')}`
      const res = await fetch(
        new URL('/_sim/faults', url),
        rule === undefined ? { method: 'DELETE', headers: { authorization } } : { method: 'POST', body: JSON.stringify(rule), headers: { authorization, 'content-type': 'application/json' } },
      )
      if (!res.ok) throw new Error(`/_sim/faults answered ${res.status}: ${await res.text()}`)
    },
    newVdi: (size) =>
      x.call<string>('VDI.create', {
        name_label: 'curl target',
        name_description: '',
        SR: sr,
        virtual_size: size,
        type: 'user',
        sharable: false,
        read_only: false,
        other_config: {},
        xenstore_data: {},
        sm_config: {},
        tags: [],
      }),
    async cleanup() {
      for (const vm of await x.call<string[]>('VM.get_all')) if (!baseVms.has(vm)) await x.call('VM.destroy', vm)
      for (const vdi of await x.call<string[]>('VDI.get_all')) if (!baseVdis.has(vdi)) await x.call('VDI.destroy', vdi)
    },
    async stop() {
      await x.close().catch(() => undefined)
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
    },
  }
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the simulator did not start within 20 s')), 20_000)
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      const m = /listening on (http:\/\/\S+)$/.exec(line)
      if (m) resolve(`${m[1]}/`)
      else reject(new Error(`unexpected first line from the simulator: ${line}`))
    })
  })
}
