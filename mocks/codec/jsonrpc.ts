import { parseJson, formatJson } from './json.js'
import { type Wire, WireFormatError } from './wire.js'
import type { RpcCall } from './xmlrpc.js'

/**
 * JSON-RPC as xapi's rpclib speaks it at /jsonrpc: "jsonrpc":"2.0" selects v2, anything
 * else is v1; params is an array; an id (string or number) is required, since xapi
 * answers every call and has no notifications.
 */
export interface JsonRpcCall extends RpcCall {
  version: 1 | 2
  /** The id as received, echoed back verbatim. */
  id: Wire
}

export function decodeJsonCall(body: string): JsonRpcCall {
  const doc = parseJson(body)
  if (doc.t !== 'struct') throw new WireFormatError('a JSON-RPC request is an object')
  const get = (k: string): Wire | undefined => doc.v.find(([name]) => name === k)?.[1]
  const method = get('method')
  const params = get('params') ?? { t: 'arr', v: [] }
  const id = get('id')
  const jsonrpc = get('jsonrpc')
  if (method?.t !== 'str') throw new WireFormatError('method must be a string')
  if (params.t !== 'arr') throw new WireFormatError('params must be an array')
  if (!id || (id.t !== 'str' && id.t !== 'int' && id.t !== 'double')) {
    throw new WireFormatError('id is required and must be a string or a number')
  }
  const version = jsonrpc?.t === 'str' && jsonrpc.v === '2.0' ? 2 : 1
  return { method: method.v, params: params.v, id, version }
}

export function encodeJsonResult(call: Pick<JsonRpcCall, 'version' | 'id'>, result: Wire): string {
  const id = formatJson(call.id)
  return call.version === 2 ? `{"jsonrpc":"2.0","result":${formatJson(result)},"id":${id}}` : `{"result":${formatJson(result)},"error":null,"id":${id}}`
}

/** XAPI's error_code_lit is 1 for every API error; the code travels in "message". */
export function encodeJsonError(call: Pick<JsonRpcCall, 'version' | 'id'>, description: string[]): string {
  const id = formatJson(call.id)
  const [code = 'INTERNAL_ERROR', ...params] = description
  return call.version === 2
    ? `{"jsonrpc":"2.0","error":${JSON.stringify({ code: 1, message: code, data: params })},"id":${id}}`
    : `{"result":null,"error":${JSON.stringify([code, ...params])},"id":${id}}`
}

/** The request side, for tests and clients written against the simulator. */
export function encodeJsonCall(call: RpcCall, version: 1 | 2 = 2, id: number | string = 0): string {
  const params = `[${call.params.map(formatJson).join(',')}]`
  const head = version === 2 ? '"jsonrpc":"2.0",' : ''
  return `{${head}"method":${JSON.stringify(call.method)},"params":${params},"id":${JSON.stringify(id)}}`
}
