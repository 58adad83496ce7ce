import { createHash } from 'node:crypto'

/** Xen's OUI (00:16:3e), from the IEEE registry; the HOWTO and libxl use it. */
export const XEN_OUI = '00:16:3e'
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/

/**
 * A stable MAC for a VM name: Xen's OUI plus three bytes of sha256(name). The top bit
 * of the fourth byte is cleared as libxl does for its generated addresses, leaving
 * 00:16:3e:80:00:00 and above to hand-assigned MACs. Same name, same MAC, on every run.
 */
export function deriveMac(vmName: string, salt = 0): string {
  const h = createHash('sha256')
    .update(salt === 0 ? vmName : `${vmName}#${salt}`)
    .digest()
  const tail = [h[0]! & 0x7f, h[1]!, h[2]!]
  return [XEN_OUI, ...tail.map((b) => b.toString(16).padStart(2, '0'))].join(':')
}
