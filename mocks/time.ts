/** XAPI's datetime format on the wire: 20250319T04:16:24Z. */
export function xapiNow(): string {
  return new Date()
    .toISOString()
    .replace(/-/g, '')
    .replace(/\.\d+Z$/, 'Z')
}
