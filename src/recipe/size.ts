const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }

/**
 * Sizes in recipes: a byte count or a number with a binary unit ("11GiB", "256 MiB").
 * Decimal units (GB, MB) are refused rather than guessed: xe and XAPI count in bytes,
 * and a silent 7% difference between GB and GiB is exactly the kind of surprise to avoid.
 */
export function parseSize(input: string | number): number | string {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : `${input} is not a whole, non-negative number of bytes`
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(input)
  if (!m) return `"${input}" is not a size; write bytes or a number with KiB, MiB, GiB or TiB`
  const unit = m[2] || 'B'
  const factor = UNITS[unit]
  if (factor === undefined) {
    const hint = /^[KMGT]B?$/i.test(unit) ? ` (did you mean ${unit[0]!.toUpperCase()}iB?)` : ''
    return `unknown unit "${unit}" in "${input}"${hint}; use B, KiB, MiB, GiB or TiB`
  }
  const bytes = Number(m[1]) * factor
  return Number.isSafeInteger(bytes) ? bytes : `"${input}" is not a whole number of bytes`
}

export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const f = UNITS[unit]!
    if (bytes >= f && bytes % (f / 1024) === 0) return `${Number((bytes / f).toFixed(2))} ${unit}`
  }
  return `${bytes} B`
}
