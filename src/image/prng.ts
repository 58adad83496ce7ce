/**
 * Small deterministic generator (mulberry32) so sample images are reproducible
 * byte for byte from a seed; not for anything security related.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** `length` pseudo-random bytes from `seed`. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const next = mulberry32(seed)
  const out = Buffer.alloc(length)
  const whole = length - (length % 4)
  for (let i = 0; i < whole; i += 4) out.writeUInt32LE(next(), i)
  for (let i = whole; i < length; i++) out[i] = next() & 0xff
  return out
}
