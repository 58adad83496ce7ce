/**
 * Optimal string alignment distance (Levenshtein plus swapping two neighbours): "--hots"
 * is one edit from "--host", as a person counts typos.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate closest to `word`, when close enough to be a typo: at most a third of
 * its length in edits (at least 1, at most 3), as git's "did you mean" judges. A prefix
 * of exactly one candidate counts too ("--dry" for "--dry-run").
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)))
  let best: { c: string; d: number } | undefined
  for (const c of candidates) {
    const d = editDistance(word, c)
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d }
  }
  if (best) return best.c
  const prefixed = candidates.filter((c) => word.length >= 3 && c.startsWith(word))
  return prefixed.length === 1 ? prefixed[0] : undefined
}
