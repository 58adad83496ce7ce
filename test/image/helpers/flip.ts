/** Flips `mask` bits of the byte at `at` (index access on a Buffer is `number | undefined` under strict settings). */
export function flip(buf: Buffer, at: number, mask = 1): void {
  buf.writeUInt8(buf.readUInt8(at) ^ mask, at)
}
