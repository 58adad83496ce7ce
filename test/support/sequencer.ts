import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Longest files first, also on a clean clone. vitest orders files by their duration in
 * its cache (node_modules/.vite), which a CI checkout does not have; it then falls back
 * to the largest file first, and a short file of slow tests (test/upload/memory.test.ts,
 * 75 lines, ~35 s) started last kept one worker busy after the others had finished.
 * Without a cached duration, a file's seconds come from file-seconds.json: its wall time
 * in a full run (XCP_TEST_CPU_LOG, docs/testing.md "Time"). A file in neither goes first,
 * as vitest does with files it does not know.
 */
const SECONDS: Record<string, number> = JSON.parse(readFileSync(new URL('./file-seconds.json', import.meta.url), 'utf8')) as Record<string, number>

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root
    const ms = (f: TestSpecification): number => {
      const file = relative(root, f.moduleId)
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)
      if (cached) return cached.failed ? Number.POSITIVE_INFINITY : cached.duration
      const s = SECONDS[file]
      return s === undefined ? Number.POSITIVE_INFINITY : s * 1000
    }
    const weight = new Map(files.map((f) => [f, ms(f)]))
    // Not a subtraction: two files of unknown length (Infinity - Infinity) are equal, not NaN.
    return [...files].sort((a, b) => Number(weight.get(b)! > weight.get(a)!) - Number(weight.get(b)! < weight.get(a)!))
  }
}
