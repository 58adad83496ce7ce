const ZEROS = Buffer.alloc(1024 * 1024)

/** True when every byte is 0. Buffer.equals is a memcmp, far faster than a JS loop. */
export function isZero(buf: Buffer): boolean {
  for (let pos = 0; pos < buf.length; pos += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - pos)
    if (!buf.subarray(pos, pos + n).equals(ZEROS.subarray(0, n))) return false
  }
  return true
}
