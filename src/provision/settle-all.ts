/**
 * Promise.all that lets every call finish before it fails: a rollback started on the
 * first rejection would otherwise race the calls still in flight on the same VM.
 */
export async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
