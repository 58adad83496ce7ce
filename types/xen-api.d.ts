// xen-api 4.7.6 ships no typings; this declares the part src/xapi/connection.ts uses.
declare module 'xen-api' {
  import { EventEmitter } from 'node:events'

  export interface XapiOptions {
    url: string
    auth: { user: string; password: string } | { sessionId: string }
    allowUnauthorized?: boolean
    transport?: 'auto' | 'json-rpc' | 'xml-rpc'
    watchEvents?: boolean | string[]
    debounce?: number
    callTimeout?: number
    httpInactivityTimeout?: number
    eventPollDelay?: number
    readOnly?: boolean
  }

  export class Xapi extends EventEmitter {
    constructor(opts: XapiOptions)
    readonly status: 'connected' | 'connecting' | 'disconnected'
    readonly sessionId: string
    readonly pool: { $ref: string; master: string; other_config: Record<string, string> } | undefined
    connect(): Promise<void>
    disconnect(): Promise<void>
    call(method: string, ...args: unknown[]): Promise<unknown>
    callAsync(method: string, ...args: unknown[]): Promise<unknown> & { cancel?: () => void }
    watchTask(ref: string): Promise<unknown>
  }

  export function createClient(opts: XapiOptions): Xapi

  export const Ref: {
    EMPTY: string
    isNotEmpty(v: unknown): boolean
  }
}
