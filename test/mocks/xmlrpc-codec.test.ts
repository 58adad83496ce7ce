import { describe, expect, it } from 'vitest'
import { decodeCall, encodeResponse, encodeCall, encodeValue } from '../../mocks/codec/xmlrpc.js'
import { parseXml } from '../../mocks/codec/xml.js'
import { WireFormatError, type Wire } from '../../mocks/codec/wire.js'
import { toWire, fromWire } from '../../mocks/datamodel/model.js'

describe('XML-RPC codec', () => {
  it('decodes what the xen-api client sends: bare strings, ints as strings, self-closing tags', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>VDI.create</methodName><params><param><value>OpaqueRef:s</value></param><param><value><struct><member><name>virtual_size</name><value>11811160064</value></member><member><name>sharable</name><value><boolean>0</boolean></value></member><member><name>other_config</name><value><struct /></value></member><member><name>tags</name><value><array><data /></array></value></member></struct></value></param></params></methodCall>'
    const call = decodeCall(body)
    expect(call.method).toBe('VDI.create')
    expect(call.params[0]).toEqual({ t: 'str', v: 'OpaqueRef:s' })
    expect(call.params[1]).toEqual({
      t: 'struct',
      v: [
        ['virtual_size', { t: 'str', v: '11811160064' }],
        ['sharable', { t: 'bool', v: false }],
        ['other_config', { t: 'struct', v: [] }],
        ['tags', { t: 'arr', v: [] }],
      ],
    })
  })

  it('round-trips every wire kind through encode and decode', () => {
    const values: Wire[] = [
      { t: 'str', v: 'a <b> & "c"' },
      { t: 'int', v: '10737418240' },
      { t: 'double', v: 60.1 },
      { t: 'bool', v: true },
      { t: 'date', v: '20250319T04:16:24Z' },
      { t: 'arr', v: [{ t: 'str', v: 'x' }] },
      { t: 'struct', v: [['k', { t: 'str', v: 'v' }]] },
      { t: 'nil' },
    ]
    const call = decodeCall(encodeCall({ method: 'm', params: values }))
    // int64 goes out untyped, as XAPI does, so it comes back as a string.
    expect(call.params).toEqual(values.map((v) => (v.t === 'int' ? { t: 'str', v: v.v } : v)))
  })

  it('writes responses compactly, ints untyped, floats as <double>, empty strings as <value></value>', () => {
    const xml = encodeResponse({
      t: 'struct',
      v: [
        ['Status', { t: 'str', v: 'Success' }],
        ['Value', toWire('(string -> int) map', { a: 268435456 })],
      ],
    })
    expect(xml).not.toMatch(/>\s+</)
    expect(xml).toContain('<member><name>a</name><value>268435456</value></member>')
    expect(encodeValue(toWire('float', 1))).toBe('<value><double>1</double></value>')
    expect(encodeValue(toWire('string', ''))).toBe('<value></value>')
  })

  it('reads <boolean>true</boolean> as false and rejects a string for a bool, as rpclib does', () => {
    expect(fromWire('bool', decodeCall('<methodCall><methodName>m</methodName><params><param><value><boolean>true</boolean></value></param></params></methodCall>').params[0]!)).toBe(false)
    expect(() => fromWire('bool', { t: 'str', v: 'true' })).toThrow(/INTERNAL_ERROR/)
  })

  it('matches enums case-insensitively and answers in the datamodel case', () => {
    expect(fromWire('enum vbd_mode', { t: 'str', v: 'rw' })).toBe('RW')
  })

  it('refuses DOCTYPE, so no entity can ever be expanded', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><methodCall><methodName>&b;</methodName></methodCall>'
    expect(() => decodeCall(bomb)).toThrow(WireFormatError)
  })

  it('rejects malformed XML with a WireFormatError, never a crash', () => {
    for (const bad of ['', '<methodCall>', '<a></b>', '<methodCall><methodName>x</methodName><params><param><value><i8>x</i8></value></param></params></methodCall>', '<<>>']) {
      expect(() => decodeCall(bad)).toThrow(WireFormatError)
    }
  })

  it('bounds nesting depth', () => {
    const deep = '<value>'.repeat(200) + '</value>'.repeat(200)
    expect(() => parseXml(deep)).toThrow(/deeply/)
  })
})
