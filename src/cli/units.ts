/**
 * Sizes and durations as a person reads them, for text output only: --json keeps bytes
 * and milliseconds. Binary units, as recipes write sizes (docs/recipe.md).
 */
const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  let v = Math.abs(n)
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  const sign = n < 0 ? '-' : ''
  if (u === 0) return `${sign}${v} ${v === 1 ? 'byte' : 'bytes'}`
  // Whole numbers stay whole (10 GiB, not 10.0 GiB); others get one decimal, or two below 10.
  const shown = Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(2) : v.toFixed(1)
  return `${sign}${shown} ${UNITS[u]}`
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}
