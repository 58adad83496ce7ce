/**
 * Clean-ups that run after every test of every file (test/support/after-each-setup.ts,
 * a vitest setupFile, runs them). A helper module registers here instead of calling
 * afterEach itself: the suite runs with isolate: false (vitest.config.ts), so a helper
 * is evaluated once per worker, and a hook it registered while loading would run only
 * for the first file that imported it. setupFiles are evaluated for every file.
 */
const cleanups = new Set<() => Promise<unknown> | unknown>()

/** Runs `fn` after each test, in every file, for as long as the worker lives. */
export function afterEveryTest(fn: () => Promise<unknown> | unknown): void {
  cleanups.add(fn)
}

/** What the setup file's afterEach calls. */
export async function runCleanups(): Promise<void> {
  await Promise.all([...cleanups].map((fn) => fn()))
}
