import type { Figure } from './scenarios.js'

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

export const fmt = (n: number | undefined, unit: number, digits = 2): string => (n === undefined || Number.isNaN(n) ? 'n/a' : (n / unit).toFixed(digits))

export const header = (): string => `${'what'.padEnd(36)} ${'wall'.padStart(9)} ${'cpu'.padStart(9)} ${'peak RSS'.padStart(10)} ${'on the wire'.padStart(13)}`

export function row(f: Figure): string {
  return `${f.label.padEnd(36)} ${fmt(f.wallMs, 1000).padStart(7)} s ${fmt(f.cpuMs, 1000).padStart(7)} s ${fmt(f.maxRssBytes, MiB, 0).padStart(6)} MiB ${fmt(f.wireBytes, MiB, 1).padStart(9)} MiB`
}

/**
 * Prints one goal line; returns whether it was met. `regime` ("over loopback", "through a
 * 1000 Mbit/s link") follows the verdict, so a figure from one regime is not read as the other's.
 */
export function goal(label: string, value: number, ok: boolean, target: string, regime?: string): boolean {
  console.log(`  ${label.padEnd(44)} ${value.toFixed(2).padStart(6)}  (goal ${target})  ${ok ? 'met' : 'MISSED'}${regime ? ` ${regime}` : ''}`)
  return ok
}

/** The middle value (the mean of the two middle ones for an even count): one disturbed run moves it less than a mean. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** On a shared machine the fastest run is the one least disturbed by others, for both sides alike. */
export const fastest = <T extends Figure>(runs: T[]): T => runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a))
