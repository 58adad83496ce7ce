import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Waits until `cond()` holds, checking every few milliseconds: for a state the test
 * cannot be told about (a task's status in the simulator), instead of a fixed sleep that
 * is too long on a fast machine and too short on a loaded one.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}
