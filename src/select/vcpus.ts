/** One XAPI setter and the value it is called with. */
export interface VcpuCall {
  field: 'VCPUs_max' | 'VCPUs_at_startup'
  value: number
}

/**
 * The order in which to set both VCPU fields to `wanted` on a halted VM. XAPI checks
 * `0 < VCPUs_at_startup <= VCPUs_max` after each call (VM.set_VCPUs_max and
 * set_VCPUs_at_startup both refuse with INVALID_VALUE otherwise), so raising sets the
 * maximum first and lowering sets at_startup first.
 */
export function vcpuOrder(currentMax: number, wanted: number): VcpuCall[] {
  const max: VcpuCall = { field: 'VCPUs_max', value: wanted }
  const atStartup: VcpuCall = { field: 'VCPUs_at_startup', value: wanted }
  return wanted >= currentMax ? [max, atStartup] : [atStartup, max]
}
