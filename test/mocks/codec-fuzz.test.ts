import { describe, expect, it } from 'vitest'
import { decodeCall, encodeCall } from '../../mocks/codec/xmlrpc.js'
import { decodeJsonCall, encodeJsonCall } from '../../mocks/codec/jsonrpc.js'
import { WireFormatError, type Wire } from '../../mocks/codec/wire.js'
import { XapiFault } from '../../mocks/fault.js'
import { withSimulator } from '../support/simulator.js'
import { post } from '../support/rpc.js'

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const SAMPLE: Wire[] = [
  { t: 'str', v: 'OpaqueRef:5e1d' },
  {
    t: 'struct',
    v: [
      ['name_label', { t: 'str', v: 'a<b>&"c"' }],
      ['virtual_size', { t: 'int', v: '11811160064' }],
      ['sharable', { t: 'bool', v: false }],
      ['tags', { t: 'arr', v: [{ t: 'str', v: 'x' }] }],
    ],
  },
  { t: 'double', v: 60.1 },
]

const PIECES = [
  '<',
  '>',
  '/',
  '<value>',
  '</value>',
  '<struct>',
  '<array><data>',
  '&',
  '&amp;',
  '&#x0;',
  '&#99999999;',
  '<!DOCTYPE x>',
  ']]>',
  '<![CDATA[',
  '"',
  '\u0000',
  '\uffff',
  '<i8>',
  '<boolean>2</boolean>',
]

function mutate(src: string, rnd: () => number): string {
  let s = src
  const n = 1 + Math.floor(rnd() * 4)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (s.length + 1))
    const op = Math.floor(rnd() * 4)
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 8))
    else if (op === 1) s = s.slice(0, at) + PIECES[Math.floor(rnd() * PIECES.length)]! + s.slice(at)
    else if (op === 2) s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 0x80)) + s.slice(at + 1)
    else s = s.slice(0, at)
  }
  return s
}

/** Decoders may accept or refuse a mutated body, but only with their own error types. */
function expectOnlyOwnErrors(fn: () => unknown, body: string): void {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof WireFormatError) && !(e instanceof XapiFault)) throw new Error(`unexpected ${String(e)} for body ${JSON.stringify(body).slice(0, 300)}`)
  }
}

describe('codec fuzzing (bounded: 3000 mutated bodies per transport)', () => {
  it('the XML-RPC decoder never crashes or hangs on mutated input', () => {
    const rnd = prng(20261126)
    const valid = encodeCall({ method: 'VDI.create', params: SAMPLE })
    const started = Date.now()
    for (let i = 0; i < 3000; i++) {
      const body = mutate(valid, rnd)
      expectOnlyOwnErrors(() => decodeCall(body), body)
    }
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('the JSON-RPC decoder never crashes or hangs on mutated input', () => {
    const rnd = prng(7)
    const valid = encodeJsonCall({ method: 'VDI.create', params: SAMPLE })
    const started = Date.now()
    for (let i = 0; i < 3000; i++) {
      const body = mutate(valid, rnd)
      expectOnlyOwnErrors(() => decodeJsonCall(body), body)
    }
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('over HTTP, mutated bodies get 200 (an API error) or 500, and the server stays up', async () => {
    const sim = await withSimulator()
    const rnd = prng(99)
    const valid = encodeCall({
      method: 'session.login_with_password',
      params: [
        { t: 'str', v: 'root' },
        { t: 'str', v: 'simulator' },
      ],
    })
    for (let i = 0; i < 200; i++) {
      const res = await post(sim.url, '/', mutate(valid, rnd))
      expect([200, 500]).toContain(res.status)
    }
    const ok = await post(sim.url, '/', valid)
    expect(ok.status).toBe(200)
    expect(ok.body).toContain('Success')
  })

  it('refuses request bodies over the size limit instead of buffering them (xapi: 500, 300 KiB)', async () => {
    const sim = await withSimulator()
    const huge = `<?xml version="1.0"?><methodCall><methodName>x</methodName><params><param><value>${'a'.repeat(300 * 1024)}</value></param></params></methodCall>`
    const res = await post(sim.url, '/', huge).catch((e: unknown) => ({ status: 0, error: e }))
    expect([500, 0]).toContain(res.status)
  })
})
