/**
 * An XAPI API error as the simulator raises it: code plus string parameters, sent
 * as {Status: Failure, ErrorDescription: [code, ...params]} over XML-RPC.
 */
export class XapiFault extends Error {
  override name = 'XapiFault'
  constructor(
    readonly code: string,
    readonly params: string[] = [],
  ) {
    super(`${code}(${params.join(', ')})`)
  }
  get description(): string[] {
    return [this.code, ...this.params]
  }
}

export const fault = (code: string, ...params: (string | number)[]): XapiFault => new XapiFault(code, params.map(String))
